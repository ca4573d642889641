package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A job that fails changes none of the files an earlier, finished run left in its --out. */
class FailedRunKeepsOutputsTest {
  @TempDir Path tmp;

  private static List<String> job(int workers, Path out, String lr) {
    List<String> args = new ArrayList<>(List.of("train", "--workers", Integer.toString(workers), "--out", out.toString()));
    args.addAll(Jobs.spiralsJob(40));
    args.addAll(List.of("--lr", lr, "--warmup-passes", "0"));
    return args;
  }

  private static Map<String, byte[]> outputs(Path dir) throws Exception {
    Map<String, byte[]> files = new LinkedHashMap<>();
    for (String name : List.of("metrics.jsonl", "summary.json", "model.gfm", "timing.json")) {
      if (Files.exists(dir.resolve(name))) {
        files.put(name, Files.readAllBytes(dir.resolve(name)));
      }
    }
    return files;
  }

  /** The outputs in {@code out} are {@code before}'s, the same files byte for byte. */
  private static void assertOutputsAsBefore(Map<String, byte[]> before, Path out, int workers) throws Exception {
    Map<String, byte[]> after = outputs(out);
    assertEquals(before.keySet(), after.keySet());
    for (String name : before.keySet()) {
      assertArrayEquals(before.get(name), after.get(name), workers + " workers: " + name + " changed");
    }
  }

  @Test
  void aDivergingRunLeavesAFinishedRunsFilesByteIdentical() throws Exception {
    for (int workers : new int[] {0, 1}) {
      Path out = tmp.resolve("w" + workers);
      Jobs.Run finished = Jobs.run(job(workers, out, "0.1"));
      assertEquals(0, finished.exitCode(), finished.err());
      Map<String, byte[]> before = outputs(out);
      assertTrue(before.keySet().containsAll(List.of("metrics.jsonl", "summary.json", "model.gfm")), before.keySet().toString());
      assertTrue(Files.size(out.resolve("metrics.jsonl")) > 0);

      Jobs.Run failed = Jobs.run(job(workers, out, "1e6"));
      assertEquals(ExitCode.FAILED.code(), failed.exitCode(), failed.err());
      assertOutputsAsBefore(before, out, workers);
    }
  }

  /**
   * The final save fails while renaming (summary.json is immutable: chattr +i, so it can be neither
   * replaced nor moved): the new model.gfm, written beside it, is not renamed onto the old one, and
   * no temporary file is left. Needs chattr and the right to use it (root, ext4: as CI runs); it fails
   * rather than skips without them.
   */
  @Test
  void aFinalSaveThatFailsLeavesAFinishedRunsFilesByteIdentical() throws Exception {
    for (int workers : new int[] {0, 1}) {
      Path out = tmp.resolve("save" + workers);
      Jobs.Run finished = Jobs.run(job(workers, out, "0.1"));
      assertEquals(0, finished.exitCode(), finished.err());
      Map<String, byte[]> before = outputs(out);
      Path summary = out.resolve("summary.json");
      assertTrue(chattr("+i", summary), "chattr +i " + summary + " failed: the test needs root and a file system with attributes");
      try {
        List<String> again = job(workers, out, "0.1");
        again.addAll(List.of("--seed", "2"));
        Jobs.Run failed = Jobs.run(again);
        assertEquals(ExitCode.SAVE_FAILED.code(), failed.exitCode(), failed.err());
        assertTrue(failed.err().contains("cannot write " + summary + ": operation not permitted"), failed.err());
      } finally {
        chattr("-i", summary);
      }
      assertOutputsAsBefore(before, out, workers);
      try (Stream<Path> files = Files.list(out)) {
        List<String> left = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp") || n.endsWith(".old")).toList();
        assertTrue(left.isEmpty(), workers + " workers: " + left);
      }
    }
  }

  private static boolean chattr(String flag, Path file) {
    try {
      Process p = new ProcessBuilder("chattr", flag, file.toString()).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor() == 0;
    } catch (Exception e) {
      return false;
    }
  }
}
