package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An output that is one of the command's inputs (the same file, by another path too) is a usage
 * error naming both, and the input stays as it was.
 */
class OutputOverItsInputTest {
  @TempDir Path tmp;

  private Path model() {
    Path run = tmp.resolve("run0");
    Jobs.Run r = Jobs.run(List.of("train", "--workers", "0", "--out", run.toString(), "--dataset", "blobs:3:300:4:60",
        "--model", "4-8-3", "--epochs", "1", "--batch", "32"));
    assertEquals(0, r.exitCode(), r.err());
    return run.resolve("model.gfm");
  }

  private static void refused(List<String> args, String outOption, Path out, String inOption, Path in) {
    Jobs.Run r = Jobs.run(args);
    assertEquals(ExitCode.USAGE.code(), r.exitCode(), r.out() + r.err());
    String line = r.err().lines().findFirst().orElse("");
    assertTrue(line.contains(outOption + " " + out + " is the same file as " + inOption + " " + in), line);
  }

  @Test
  void exportOverItsModelFileIsRefused() throws Exception {
    Path model = model();
    byte[] before = Files.readAllBytes(model);
    refused(List.of("export", "--model-file", model.toString(), "--out", model.toString()), "--out", model, "--model-file", model);
    Path other = model.getParent().resolve(".").resolve("model.gfm"); // the same file by another path
    refused(List.of("export", "--model-file", model.toString(), "--out", other.toString()), "--out", other, "--model-file", model);
    assertArrayEquals(before, Files.readAllBytes(model));
  }

  @Test
  void predictOverItsInputOrModelIsRefused() throws Exception {
    Path model = model();
    Path dir = Files.createDirectories(tmp.resolve("pin"));
    Path csv = Files.writeString(dir.resolve("ok.csv"), "1,2,3,4\n5,6,7,8\n");
    refused(List.of("predict", "--model-file", model.toString(), "--input", csv.toString(), "--out", csv.toString()),
        "--out", csv, "--input", csv);
    assertEquals("1,2,3,4\n5,6,7,8\n", Files.readString(csv));
    byte[] before = Files.readAllBytes(model);
    refused(List.of("predict", "--model-file", model.toString(), "--input", csv.toString(), "--out", model.toString()),
        "--out", model, "--model-file", model);
    assertArrayEquals(before, Files.readAllBytes(model));
  }
}
