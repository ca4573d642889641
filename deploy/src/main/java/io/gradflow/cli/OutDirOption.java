package io.gradflow.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code --out}: where a job writes its files (train and server; submit's jobs write on the cluster). */
final class OutDirOption {
  @Spec(Spec.Target.MIXEE)
  CommandSpec mixee;

  @Option(names = "--out", paramLabel = "DIR", description = "Output directory for model.gfm, metrics.jsonl, summary.json (default: runs/${COMMAND-NAME}-<time>).")
  Path out;

  /** {@code --out}, else {@code fallback} when not null, else a new {@code runs/<command>-<time>}. */
  Path dir(Path fallback) {
    if (out != null) {
      return out;
    }
    return fallback != null ? fallback : Path.of("runs", mixee.name() + "-" + Timestamp.now());
  }

  /** The outermost directory {@link #prepared} created (null when the directory existed). */
  private Path created;

  /**
   * As {@link #dir}, checked before the job starts ({@link OutputPaths#directory}): created, and
   * writable; an empty {@code --out} is a usage error, one that cannot be written exit code
   * {@link ExitCode#SAVE_FAILED}.
   */
  Path prepared(Path fallback) {
    Path dir = dir(fallback);
    Path missing = null;
    for (Path p = dir.toAbsolutePath().normalize(); p != null && !Files.exists(p); p = p.getParent()) {
      missing = p;
    }
    Path prepared = OutputPaths.directory("--out", dir);
    created = missing;
    return prepared;
  }

  /**
   * Runs {@code command}, which prepares this directory; when it is refused as a usage mistake
   * ({@link ExitCode#USAGE}), removes what {@link #prepared} created, with what the refused job
   * wrote there (a server's log of the same message): a refused command leaves nothing behind.
   */
  Integer refusedLeavesNothing(java.util.concurrent.Callable<Integer> command) throws Exception {
    try {
      return command.call();
    } catch (CommandFailure f) {
      if (f.exitCode() == ExitCode.USAGE && created != null) {
        try {
          OutputPaths.deleteTree(created);
        } catch (IOException e) {
          // what is left is the refused job's own directory; the usage message is what matters
        }
      }
      throw f;
    }
  }
}
