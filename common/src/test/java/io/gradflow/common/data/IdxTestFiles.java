package io.gradflow.common.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/** Writes small IDX files for tests. */
final class IdxTestFiles {
  private IdxTestFiles() {}

  /** IDX images bytes: magic 0x803, count, rows, cols, then the pixels. */
  static byte[] images(int count, int rows, int cols, byte[] pixels) {
    ByteBuffer b = ByteBuffer.allocate(16 + pixels.length);
    b.putInt(IdxReader.IMAGES_MAGIC).putInt(count).putInt(rows).putInt(cols).put(pixels);
    return b.array();
  }

  /** IDX labels bytes: magic 0x801, count, then one byte per label. */
  static byte[] labels(int... labels) {
    ByteBuffer b = ByteBuffer.allocate(8 + labels.length);
    b.putInt(IdxReader.LABELS_MAGIC).putInt(labels.length);
    for (int y : labels) {
      b.put((byte) y);
    }
    return b.array();
  }

  static byte[] gzip(byte[] raw) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
        gz.write(raw);
      }
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Path write(Path file, byte[] bytes) {
    try {
      Files.createDirectories(file.getParent());
      return Files.write(file, bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Writes the four MNIST-layout files (gzipped) into {@code dir}: {@code trainCount} and
   * {@code testCount} images of 2x3 pixels, pixel {@code k} of image {@code i} = {@code (7 i + k)
   * mod 256}, label {@code i mod classes}.
   */
  static void writeMnistLayout(Path dir, int trainCount, int testCount, int classes) {
    writeSet(dir, "train", trainCount, classes);
    writeSet(dir, "t10k", testCount, classes);
  }

  private static void writeSet(Path dir, String prefix, int count, int classes) {
    byte[] px = new byte[count * 6];
    int[] y = new int[count];
    for (int i = 0; i < count; i++) {
      for (int k = 0; k < 6; k++) {
        px[i * 6 + k] = (byte) (7 * i + k);
      }
      y[i] = i % classes;
    }
    write(dir.resolve(prefix + "-images-idx3-ubyte.gz"), gzip(images(count, 2, 3, px)));
    write(dir.resolve(prefix + "-labels-idx1-ubyte.gz"), gzip(labels(y)));
  }
}
