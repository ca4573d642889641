package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
    assertFalse(Files.exists(out.resolve("summary.json")));
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
}
