package io.gradflow.cli;

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

  /**
   * As {@link #dir}, checked before the job starts ({@link OutputPaths#directory}): created, and
   * writable; an empty {@code --out} is a usage error, one that cannot be written exit code
   * {@link ExitCode#SAVE_FAILED}.
   */
  Path prepared(Path fallback) {
    return OutputPaths.directory("--out", dir(fallback));
  }
}
