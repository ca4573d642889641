package io.gradflow.common.data;

import static io.gradflow.common.data.IdxTestFiles.gzip;
import static io.gradflow.common.data.IdxTestFiles.images;
import static io.gradflow.common.data.IdxTestFiles.labels;
import static io.gradflow.common.data.IdxTestFiles.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.gradflow.common.util.SplitMix64;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {
  @TempDir Path dir;

  /** 3 images of 2x2: seeded random bytes plus the extremes 0 and 255. */
  private static byte[] pixels() {
    SplitMix64 rng = new SplitMix64(11);
    byte[] px = new byte[12];
    for (int i = 0; i < px.length; i++) {
      px[i] = (byte) rng.nextInt(256);
    }
    px[0] = 0;
    px[1] = (byte) 255;
    return px;
  }

  @Test
  void readsRawImagesScaledToUnitInterval() {
    byte[] px = pixels();
    IdxReader.Images im = IdxReader.readImages(write(dir.resolve("img"), images(3, 2, 2, px)));
    assertEquals(3, im.count());
    assertEquals(2, im.rows());
    assertEquals(2, im.cols());
    assertEquals(4, im.pixelsPerImage());
    float[] expected = new float[px.length];
    for (int i = 0; i < px.length; i++) {
      expected[i] = (px[i] & 0xFF) / 255f;
    }
    assertArrayEquals(expected, im.pixels());
    assertEquals(0f, im.pixels()[0]);
    assertEquals(1f, im.pixels()[1]);
  }

  @Test
  void detectsGzipByMagicBytesNotByName() {
    byte[] raw = images(3, 2, 2, pixels());
    float[] fromRaw = IdxReader.readImages(write(dir.resolve("a.gz"), raw)).pixels();
    float[] fromGzip = IdxReader.readImages(write(dir.resolve("b-idx3-ubyte"), gzip(raw))).pixels();
    assertArrayEquals(fromRaw, fromGzip);
    int[] y = IdxReader.readLabels(write(dir.resolve("l"), gzip(labels(9, 0, 255))));
    assertArrayEquals(new int[] {9, 0, 255}, y);
  }

  @Test
  void readsImagesAndLabelsIntoDataset() {
    Path img = write(dir.resolve("img.gz"), gzip(images(3, 2, 2, pixels())));
    Path lab = write(dir.resolve("lab.gz"), gzip(labels(4, 9, 0)));
    Dataset d = IdxReader.read(img, lab, "tiny", IdxReader.MNIST_CLASSES);
    assertEquals("tiny", d.name());
    assertEquals(3, d.count());
    assertEquals(4, d.features());
    assertEquals(10, d.classes());
    assertArrayEquals(new int[] {4, 9, 0}, d.labels());
  }

  @Test
  void missingFileNamesThePath() {
    DataException e =
        assertThrows(DataException.class, () -> IdxReader.readImages(dir.resolve("nope.gz")));
    assertEquals(dir.resolve("nope.gz") + ": file not found", e.getMessage());
  }

  @Test
  void labelsFileGivenAsImagesIsBadMagic() {
    Path lab = write(dir.resolve("train-labels-idx1-ubyte"), labels(1, 2));
    DataException e = assertThrows(DataException.class, () -> IdxReader.readImages(lab));
    assertEquals(
        "train-labels-idx1-ubyte: bad magic 0x00000801 at byte 0: expected 0x00000803"
            + " (IDX unsigned-byte images) (this is a labels file)",
        e.getMessage());
  }

  @Test
  void textFileIsBadMagic() {
    Path f = write(dir.resolve("x.csv"), "1,2,3\n4,5,6\n".getBytes());
    DataException e = assertThrows(DataException.class, () -> IdxReader.readLabels(f));
    assertEquals(
        "x.csv: bad magic 0x312c322c at byte 0: expected 0x00000801 (IDX unsigned-byte labels)"
            + " (not an IDX file)",
        e.getMessage());
  }

  @Test
  void truncatedHeaderNamesTheOffset() {
    byte[] full = images(3, 2, 2, pixels());
    Path f = write(dir.resolve("img"), Arrays.copyOf(full, 10));
    DataException e = assertThrows(DataException.class, () -> IdxReader.readImages(f));
    assertEquals(
        "img: truncated at byte 10: expected a 16-byte header (magic, count, rows, cols)",
        e.getMessage());
    Path empty = write(dir.resolve("empty"), new byte[0]);
    e = assertThrows(DataException.class, () -> IdxReader.readLabels(empty));
    assertEquals(
        "empty: truncated at byte 0: expected an 8-byte header (magic, count)", e.getMessage());
  }

  @Test
  void truncatedPixelsNameOffsetAndExpectedSize() {
    byte[] full = images(3, 2, 2, pixels());
    Path f = write(dir.resolve("img.gz"), gzip(Arrays.copyOf(full, 16 + 7)));
    DataException e = assertThrows(DataException.class, () -> IdxReader.readImages(f));
    assertEquals(
        "img.gz: truncated at byte 23: expected 12 bytes of pixels for 3 images of 2x2",
        e.getMessage());
  }

  @Test
  void truncatedLabels() {
    byte[] full = labels(1, 2, 3, 4);
    Path f = write(dir.resolve("lab"), Arrays.copyOf(full, 10));
    DataException e = assertThrows(DataException.class, () -> IdxReader.readLabels(f));
    assertEquals("lab: truncated at byte 10: expected 4 labels (one byte each)", e.getMessage());
  }

  @Test
  void cutGzipStreamIsAnError() {
    SplitMix64 rng = new SplitMix64(3);
    byte[] px = new byte[4000];
    for (int i = 0; i < px.length; i++) {
      px[i] = (byte) rng.nextInt(256);
    }
    byte[] gz = gzip(images(10, 20, 20, px));
    Path f = write(dir.resolve("img.gz"), Arrays.copyOf(gz, gz.length / 2));
    DataException e = assertThrows(DataException.class, () -> IdxReader.readImages(f));
    assertEquals(true, e.getMessage().startsWith("img.gz: "), e.getMessage());
    assertEquals(true, e.getMessage().contains("truncated"), e.getMessage());
  }

  @Test
  void trailingBytesAreAnError() {
    byte[] full = labels(1, 2);
    byte[] extra = Arrays.copyOf(full, full.length + 3);
    Path f = write(dir.resolve("lab.gz"), gzip(extra));
    DataException e = assertThrows(DataException.class, () -> IdxReader.readLabels(f));
    assertEquals(
        "lab.gz: 3 unexpected bytes after byte 10: expected the file to end with its data",
        e.getMessage());
  }

  @Test
  void negativeDimensionsAreAnError() {
    Path f = write(dir.resolve("img"), images(-1, 2, 2, new byte[0]));
    DataException e = assertThrows(DataException.class, () -> IdxReader.readImages(f));
    assertEquals(
        "img: bad dimensions at byte 4: count -1, rows 2, cols 2: expected a count >= 0 and"
            + " positive rows and cols",
        e.getMessage());
  }

  @Test
  void countMismatchIsAnError() {
    Path img = write(dir.resolve("img"), images(3, 2, 2, pixels()));
    Path lab = write(dir.resolve("lab"), labels(1, 2));
    DataException e =
        assertThrows(DataException.class, () -> IdxReader.read(img, lab, "x", 10));
    assertEquals(
        "lab has 2 labels but img has 3 images: expected one label per image", e.getMessage());
  }

  @Test
  void labelOutOfRangeNamesIndexAndByte() {
    Path img = write(dir.resolve("img"), images(3, 2, 2, pixels()));
    Path lab = write(dir.resolve("lab"), labels(1, 2, 10));
    DataException e =
        assertThrows(DataException.class, () -> IdxReader.read(img, lab, "x", 10));
    assertEquals(
        "lab: label 10 at index 2 (byte 10) is out of range: expected 0..9", e.getMessage());
  }
}
