package io.gradflow.common.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Reads IDX files, the format of MNIST and Fashion-MNIST, gzipped or raw. Compression is detected
 * by the gzip magic bytes {@code 1f 8b}, not by the file name. All integers are big-endian; the
 * offsets below are in the (decompressed) IDX stream:
 *
 * <pre>
 * images: [0] magic 0x00000803 (ubyte, 3 dims)  [4] count  [8] rows  [12] cols
 *         [16] count * rows * cols pixels, one unsigned byte each, row-major per image
 * labels: [0] magic 0x00000801 (ubyte, 1 dim)   [4] count
 *         [8] count labels, one unsigned byte each
 * </pre>
 *
 * <p>Pixels are scaled to [0, 1] as {@code v / 255f}. A file must end right after its data:
 * trailing bytes are an error, because an IDX file has an exact size and extra bytes mean a
 * concatenated or wrong file. Every problem is a one-line {@link DataException} that names the
 * file, the byte offset and what was expected.
 */
public final class IdxReader {
  /** Magic number of an IDX file of unsigned bytes with 3 dimensions (images). */
  public static final int IMAGES_MAGIC = 0x00000803;

  /** Magic number of an IDX file of unsigned bytes with 1 dimension (labels). */
  public static final int LABELS_MAGIC = 0x00000801;

  /** Classes of MNIST and Fashion-MNIST: labels 0..9. */
  public static final int MNIST_CLASSES = 10;

  private static final int BUFFER = 1 << 16;
  private static final float[] SCALE = new float[256];
  private static final float[] RAW = new float[256];

  static {
    for (int v = 0; v < 256; v++) {
      SCALE[v] = v / 255f;
      RAW[v] = v;
    }
  }

  private IdxReader() {}

  /** Images of an IDX images file: {@code count} images of {@code rows x cols} pixels in [0, 1]. */
  public record Images(int count, int rows, int cols, float[] pixels) {
    public int pixelsPerImage() {
      return rows * cols;
    }
  }

  /**
   * Reads an images file and its labels file into a data set of {@code rows * cols} features.
   *
   * @param name the data set's name (e.g. {@code fashion-mnist train})
   * @param classes labels must lie in {@code [0, classes)}; {@link #MNIST_CLASSES} for MNIST-style
   *     sets
   * @throws DataException if either file is missing or malformed, the counts differ or a label is
   *     out of range
   */
  public static Dataset read(Path images, Path labels, String name, int classes) {
    int[] y = readLabels(labels);
    Images x = readImages(images);
    if (x.count() != y.length) {
      throw new DataException(
          labels.getFileName() + " has " + y.length + " labels but " + images.getFileName()
              + " has " + x.count() + " images: expected one label per image");
    }
    checkLabels(labels, y, classes);
    return new Dataset(name, x.pixels(), y, x.pixelsPerImage(), classes);
  }

  /**
   * Checks that every label lies in {@code [0, classes)}.
   *
   * @throws DataException naming the first label out of range, its index and byte offset
   */
  public static void checkLabels(Path labels, int[] y, int classes) {
    for (int i = 0; i < y.length; i++) {
      if (y[i] >= classes) {
        throw new DataException(
            labels.getFileName() + ": label " + y[i] + " at index " + i + " (byte " + (8L + i)
                + ") is out of range: expected 0.." + (classes - 1));
      }
    }
  }

  /** Reads an IDX images file (magic {@code 0x00000803}); pixels scaled to [0, 1]. */
  public static Images readImages(Path file) {
    return readImages(file, SCALE);
  }

  /** Reads an IDX images file with its pixels as they are stored, 0..255 (for prediction). */
  public static Images readRawImages(Path file) {
    return readImages(file, RAW);
  }

  private static Images readImages(Path file, float[] table) {
    String f = String.valueOf(file.getFileName());
    try (InputStream in = open(file)) {
      byte[] header = new byte[16];
      int got = readFully(in, header, 0, 16, f, 0);
      if (got < 4) {
        throw truncated(f, got, "expected a 16-byte header (magic, count, rows, cols)");
      }
      checkMagic(f, intAt(header, 0), IMAGES_MAGIC, "images");
      if (got < 16) {
        throw truncated(f, got, "expected a 16-byte header (magic, count, rows, cols)");
      }
      int count = intAt(header, 4);
      int rows = intAt(header, 8);
      int cols = intAt(header, 12);
      if (count < 0 || rows <= 0 || cols <= 0) {
        throw new DataException(
            f + ": bad dimensions at byte 4: count " + count + ", rows " + rows + ", cols " + cols
                + ": expected a count >= 0 and positive rows and cols");
      }
      long size = (long) count * rows * cols;
      if (size > Integer.MAX_VALUE - 16) {
        throw new DataException(
            f + ": " + count + " images of " + rows + "x" + cols + " need " + size
                + " bytes of pixels: more than one array can hold");
      }
      byte[] raw = new byte[(int) size];
      got = readFully(in, raw, 0, raw.length, f, 16);
      if (got < raw.length) {
        throw truncated(
            f, 16L + got,
            "expected " + size + " bytes of pixels for " + count + " images of " + rows + "x"
                + cols);
      }
      checkEnd(in, f, 16L + size);
      float[] pixels = new float[raw.length];
      for (int i = 0; i < raw.length; i++) {
        pixels[i] = table[raw[i] & 0xFF];
      }
      return new Images(count, rows, cols, pixels);
    } catch (IOException e) {
      throw new DataException(f + ": cannot read: " + e.getMessage(), e);
    }
  }

  /** Reads an IDX labels file (magic {@code 0x00000801}); values 0..255. */
  public static int[] readLabels(Path file) {
    String f = String.valueOf(file.getFileName());
    try (InputStream in = open(file)) {
      byte[] header = new byte[8];
      int got = readFully(in, header, 0, 8, f, 0);
      if (got < 4) {
        throw truncated(f, got, "expected an 8-byte header (magic, count)");
      }
      checkMagic(f, intAt(header, 0), LABELS_MAGIC, "labels");
      if (got < 8) {
        throw truncated(f, got, "expected an 8-byte header (magic, count)");
      }
      int count = intAt(header, 4);
      if (count < 0 || count > Integer.MAX_VALUE - 8) {
        throw new DataException(f + ": bad label count " + count + " at byte 4: expected >= 0");
      }
      byte[] raw = new byte[count];
      got = readFully(in, raw, 0, count, f, 8);
      if (got < count) {
        throw truncated(f, 8L + got, "expected " + count + " labels (one byte each)");
      }
      checkEnd(in, f, 8L + count);
      int[] labels = new int[count];
      for (int i = 0; i < count; i++) {
        labels[i] = raw[i] & 0xFF;
      }
      return labels;
    } catch (IOException e) {
      throw new DataException(f + ": cannot read: " + e.getMessage(), e);
    }
  }

  /** Opens a file, transparently un-gzipping it when it starts with {@code 1f 8b}. */
  private static InputStream open(Path file) throws IOException {
    if (Files.isDirectory(file)) {
      throw new DataException(file + ": is a directory, expected an IDX file");
    }
    InputStream raw;
    try {
      raw = Files.newInputStream(file);
    } catch (NoSuchFileException e) {
      throw new DataException(file + ": file not found");
    }
    BufferedInputStream in = new BufferedInputStream(raw, BUFFER);
    in.mark(2);
    int b0 = in.read();
    int b1 = in.read();
    in.reset();
    if (b0 == 0x1f && b1 == 0x8b) {
      try {
        return new GZIPInputStream(in, BUFFER);
      } catch (IOException e) {
        in.close();
        throw new DataException(
            file.getFileName() + ": corrupt gzip header at byte 0: " + e.getMessage(), e);
      }
    }
    return in;
  }

  /**
   * Reads up to {@code n} bytes; returns how many were read before the end of the stream. A
   * corrupt or cut gzip stream is reported as a {@link DataException} at the offset reached.
   */
  private static int readFully(InputStream in, byte[] buf, int off, int n, String f, long base) {
    int done = 0;
    try {
      while (done < n) {
        int r = in.read(buf, off + done, n - done);
        if (r < 0) {
          break;
        }
        done += r;
      }
      return done;
    } catch (IOException e) {
      throw new DataException(
          f + ": corrupt or truncated gzip data at byte " + (base + done)
              + " of the uncompressed stream: " + e.getMessage(), e);
    }
  }

  private static void checkEnd(InputStream in, String f, long end) {
    byte[] extra = new byte[BUFFER];
    long count = 0;
    int r;
    try {
      while ((r = in.read(extra)) > 0) {
        count += r;
      }
    } catch (IOException e) {
      throw new DataException(
          f + ": corrupt gzip data after byte " + (end + count) + ": " + e.getMessage(), e);
    }
    if (count > 0) {
      throw new DataException(
          f + ": " + count + " unexpected bytes after byte " + end
              + ": expected the file to end with its data");
    }
  }

  private static void checkMagic(String f, int magic, int expected, String kind) {
    if (magic != expected) {
      String hint =
          magic == LABELS_MAGIC
              ? " (this is a labels file)"
              : magic == IMAGES_MAGIC ? " (this is an images file)" : " (not an IDX file)";
      throw new DataException(
          f + ": bad magic " + hex(magic) + " at byte 0: expected " + hex(expected)
              + " (IDX unsigned-byte " + kind + ")" + hint);
    }
  }

  private static DataException truncated(String f, long at, String expected) {
    return new DataException(f + ": truncated at byte " + at + ": " + expected);
  }

  private static int intAt(byte[] b, int i) {
    return (b[i] & 0xFF) << 24
        | (b[i + 1] & 0xFF) << 16
        | (b[i + 2] & 0xFF) << 8
        | (b[i + 3] & 0xFF);
  }

  private static String hex(int v) {
    return String.format("0x%08x", v);
  }
}
