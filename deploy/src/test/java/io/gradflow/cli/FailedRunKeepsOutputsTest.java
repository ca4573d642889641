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
      Map<String, byte[]> after = outputs(out);
      assertEquals(before.keySet(), after.keySet());
      for (String name : before.keySet()) {
        assertArrayEquals(before.get(name), after.get(name), workers + " workers: " + name + " changed");
      }
    }
  }
}
