package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad files get a one-line answer naming the file and the position, a distinct exit code, and
 * overwrite nothing: in one process and through the launcher's real server and worker JVMs.
 */
class BadInputIT {
  @TempDir Path tmp;

  /** An IDX data set of 20 train and 10 test 2x2 images, its train images cut short. */
  private Path truncatedIdx() throws Exception {
    Path dir = tmp.resolve("idx");
    Files.createDirectories(dir);
    writeImages(dir.resolve("train-images-idx3-ubyte"), 20, 2 * 2 * 20 - 7);
    writeLabels(dir.resolve("train-labels-idx1-ubyte"), 20);
    writeImages(dir.resolve("t10k-images-idx3-ubyte"), 10, 2 * 2 * 10);
    writeLabels(dir.resolve("t10k-labels-idx1-ubyte"), 10);
    return dir;
  }

  private static void writeImages(Path file, int count, int pixelBytes) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bytes);
    out.writeInt(0x803);
    out.writeInt(count);
    out.writeInt(2);
    out.writeInt(2);
    out.write(new byte[pixelBytes]);
    Files.write(file, bytes.toByteArray());
  }

  private static void writeLabels(Path file, int count) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bytes);
    out.writeInt(0x801);
    out.writeInt(count);
    for (int i = 0; i < count; i++) {
      out.write(i % 3);
    }
    Files.write(file, bytes.toByteArray());
  }

  private static List<String> job(Path idx, Path out, int workers) {
    return List.of("train", "--workers", Integer.toString(workers), "--dataset", "idx:" + idx, "--model", "4-3-3",
        "--batch", "4", "--micro-shards", "2", "--max-steps", "2", "--out", out.toString());
  }

  @Test
  void aTruncatedIdxFileIsADataErrorInOneLine() throws Exception {
    Path idx = truncatedIdx();
    Path out = tmp.resolve("single");
    Jobs.Run r = Jobs.run(job(idx, out, 0));
    assertEquals(ExitCode.DATA.code(), r.exitCode(), r.err());
    String[] lines = r.err().strip().split("\n");
    assertEquals(1, lines.length, r.err());
    assertTrue(lines[0].contains("train-images-idx3-ubyte") && lines[0].contains("truncated"), lines[0]);
    assertFalse(Files.exists(out.resolve("model.gfm")), "nothing written");
  }

  @Test
  void aTruncatedIdxFileStopsADistributedJobWithTheSameReason() throws Exception {
    Path idx = truncatedIdx();
    Path out = tmp.resolve("distributed");
    Jobs.Run r = Jobs.run(job(idx, out, 2));
    assertEquals(ExitCode.DATA.code(), r.exitCode(), r.err());
    String last = r.err().strip();
    assertTrue(last.contains("train-images-idx3-ubyte") && last.contains("truncated"), last);
    assertFalse(Files.exists(out.resolve("model.gfm")), "nothing written");
    assertTrue(Jobs.allGone(ProcessHandle.current().descendants().toList(), 20));
  }

  @Test
  void aCorruptModelFileIsAModelErrorAndAnUnknownDatasetAUsageError() throws Exception {
    Path model = tmp.resolve("model.gfm");
    Files.write(model, "GFMODEL1 but not really".getBytes());
    Jobs.Run r = Jobs.run(List.of("evaluate", "--model-file", model.toString(), "--dataset", "spirals"));
    assertEquals(ExitCode.MODEL_FILE.code(), r.exitCode(), r.err());
    assertEquals(1, r.err().strip().split("\n").length, r.err());
    assertTrue(r.err().contains(model.toString()), r.err());
    Jobs.Run u = Jobs.run(List.of("train", "--workers", "0", "--dataset", "imagenet", "--out", tmp.resolve("u").toString()));
    assertEquals(ExitCode.USAGE.code(), u.exitCode(), u.err());
    assertTrue(u.err().startsWith("gradflow train: "), u.err());
  }
}
