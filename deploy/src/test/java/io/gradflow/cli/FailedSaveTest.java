package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint or final model the server cannot write fails the job, through the server's and
 * the launcher's exit code {@link ExitCode#SAVE_FAILED}, with the reason and the newest good
 * checkpoint to resume from. The unwritable places are a file where the checkpoints directory
 * goes, and a non-empty directory where model.gfm goes (no mount needed).
 */
class FailedSaveTest {
  @TempDir Path tmp;

  private static List<String> job(Path out) {
    List<String> args = new ArrayList<>(List.of("train", "--workers", "1", "--out", out.toString(),
        "--checkpoint-every", "10", "--warmup-passes", "0"));
    args.addAll(Jobs.spiralsJob(30));
    return args;
  }

  @Test
  void aCheckpointThatCannotBeWrittenFailsTheJob() throws Exception {
    Path out = Files.createDirectories(tmp.resolve("ckpt"));
    Files.writeString(out.resolve("checkpoints"), "not a directory");
    Jobs.Run r = Jobs.run(job(out));
    assertEquals(ExitCode.SAVE_FAILED.code(), r.exitCode(), r.out() + r.err());
    String last = r.err().strip();
    assertTrue(last.contains("cannot save: the checkpoint of step 10") && last.contains("checkpoints")
        && last.contains("no checkpoint to resume from"), last);
    assertTrue(last.contains(out.resolve("checkpoints") + ": exists and is not a directory"), "the reason: " + last);
    assertFalse(Files.exists(out.resolve("summary.json")));
  }

  /** A directory where a checkpoint's file goes: the reason in words, naming that file, not the temporary one. */
  @Test
  void aCheckpointFileInTheWayIsNamedWithTheReasonInWords() throws Exception {
    Path out = Files.createDirectories(tmp.resolve("ckpt-dir"));
    Path inTheWay = Files.createDirectories(out.resolve("checkpoints/ckpt-000000000010.gfc"));
    Jobs.Run r = Jobs.run(job(out));
    assertEquals(ExitCode.SAVE_FAILED.code(), r.exitCode(), r.out() + r.err());
    String last = r.err().strip();
    assertTrue(last.contains("cannot save: the checkpoint of step 10") && last.contains(inTheWay + ": cannot save: is a directory"), last);
    assertFalse(last.contains("java.") || last.contains(".tmp"), "no exception class, no temporary file: " + last);
  }

  @Test
  void aFinalModelThatCannotBeWrittenFailsTheJobNamingTheNewestCheckpoint() throws Exception {
    Path out = Files.createDirectories(tmp.resolve("final"));
    Files.createDirectories(out.resolve("model.gfm"));
    Files.writeString(out.resolve("model.gfm").resolve("in-the-way"), "x");
    Jobs.Run r = Jobs.run(job(out));
    assertEquals(ExitCode.SAVE_FAILED.code(), r.exitCode(), r.out() + r.err());
    String last = r.err().strip();
    assertTrue(last.contains("cannot save: the final model") && last.contains("model.gfm"), last);
    Matcher m = Pattern.compile("newest good checkpoint: (\\S+ckpt-\\d+\\.gfc)").matcher(last);
    assertTrue(m.find(), last);
    assertTrue(Files.isRegularFile(Path.of(m.group(1))), m.group(1));
    assertFalse(r.out().contains("wrote "), r.out());
  }

  /**
   * The final save that fails exits 9 with the reason in every mode (single process too, where it
   * was a model-file error), leaves no temporary file, and keeps the earlier run's files whole:
   * summary.json is a non-empty directory, so the new model.gfm must not replace the old one.
   */
  @Test
  void aFinalSaveThatFailsExitsNineInEveryModeAndLeavesNoTemporaryFile() throws Exception {
    for (int workers : new int[] {0, 1}) {
      Path out = tmp.resolve("summary-in-the-way-" + workers);
      List<String> args = new ArrayList<>(List.of("train", "--workers", Integer.toString(workers), "--out", out.toString(),
          "--warmup-passes", "0"));
      args.addAll(Jobs.spiralsJob(30));
      assertEquals(0, Jobs.run(args).exitCode());
      byte[] model = Files.readAllBytes(out.resolve("model.gfm"));
      byte[] metrics = Files.readAllBytes(out.resolve("metrics.jsonl"));
      Files.delete(out.resolve("summary.json"));
      Files.createDirectories(out.resolve("summary.json").resolve("in-the-way"));
      args.addAll(List.of("--seed", "2"));
      Jobs.Run r = Jobs.run(args);
      assertEquals(ExitCode.SAVE_FAILED.code(), r.exitCode(), workers + " workers: " + r.out() + r.err());
      String last = r.err().strip();
      assertTrue(last.contains("cannot write " + out.resolve("summary.json") + ": is a directory"), last);
      assertFalse(last.contains("internal error") || last.contains("\tat "), last);
      assertArrayEquals(model, Files.readAllBytes(out.resolve("model.gfm")), workers + " workers: model.gfm changed");
      assertArrayEquals(metrics, Files.readAllBytes(out.resolve("metrics.jsonl")), workers + " workers: metrics.jsonl changed");
      try (Stream<Path> files = Files.list(out)) {
        List<String> left = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp") || n.endsWith(".old")).toList();
        assertTrue(left.isEmpty(), workers + " workers: " + left);
      }
    }
  }

  @Test
  void aFinalModelThatCannotBeWrittenFailsTheSingleProcessJobWithTheSameCode() throws Exception {
    Path out = Files.createDirectories(tmp.resolve("final0"));
    Files.createDirectories(out.resolve("model.gfm").resolve("in-the-way"));
    List<String> args = new ArrayList<>(List.of("train", "--workers", "0", "--out", out.toString()));
    args.addAll(Jobs.spiralsJob(30));
    Jobs.Run r = Jobs.run(args);
    assertEquals(ExitCode.SAVE_FAILED.code(), r.exitCode(), r.out() + r.err());
    assertTrue(r.err().strip().equals("gradflow train: cannot write " + out.resolve("model.gfm") + ": is a directory"), r.err());
    assertFalse(Files.exists(out.resolve("summary.json")));
  }
}
