package io.gradflow.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.util.SplitMix64;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CsvReaderTest {
  @TempDir Path dir;

  private Path write(String name, String text) throws IOException {
    return Files.writeString(dir.resolve(name), text);
  }

  @Test
  void headerBlankLinesAndMinMaxFittedOnTrain() throws IOException {
    Path train = write("train.csv", "label,a,b,c\n0,1,10,5\n\n1, 3 ,20,5\r\n2,2,30,5\n");
    Path test = write("test.csv", "0,4,10,7\n\n1,0,25,5\n");
    TrainTestSplit s = CsvReader.read(train, test);
    Dataset tr = s.train();
    assertEquals(3, tr.count());
    assertEquals(3, tr.features());
    assertEquals(3, tr.classes());
    assertArrayEquals(new int[] {0, 1, 2}, tr.labels());
    // a: min 1 max 3; b: min 10 max 30; c: constant 5 -> 0
    assertArrayEquals(new float[] {0f, 0f, 0f, 1f, 0.5f, 0f, 0.5f, 1f, 0f}, tr.inputs());
    Dataset te = s.test();
    assertEquals(3, te.classes());
    // test values outside the training range are not clipped
    assertArrayEquals(new float[] {1.5f, 0f, 0f, -0.5f, 0.75f, 0f}, te.inputs());
  }

  @Test
  void noHeaderFirstRowIsData() throws IOException {
    Path f = write("d.csv", "1,0.5\n0,1.5\n");
    CsvReader.Table t = CsvReader.readTable(f, -1);
    assertEquals(2, t.count());
    assertEquals(1, t.features());
    assertArrayEquals(new float[] {0.5f, 1.5f}, t.values());
    assertArrayEquals(new int[] {1, 0}, t.labels());
  }

  @Test
  void byteOrderMarkAndIntegralFloatLabelsAccepted() throws IOException {
    Path f = write("d.csv", "\uFEFFy,x\n2.0,1e1\n");
    CsvReader.Table t = CsvReader.readTable(f, -1);
    assertArrayEquals(new int[] {2}, t.labels());
    assertArrayEquals(new float[] {10f}, t.values());
  }

  @Test
  void wrongWidthNamesLineAndColumns() throws IOException {
    Path f = write("data.csv", "y,a,b,c,d\n0,1,2,3,4\n\n1,1,2,3\n");
    DataException e = assertThrows(DataException.class, () -> CsvReader.readTable(f, -1));
    assertEquals("data.csv line 4: expected 5 columns (label + 4 features), got 4", e.getMessage());
  }

  @Test
  void testFileMustMatchTrainWidth() throws IOException {
    Path train = write("train.csv", "0,1,2\n1,2,3\n");
    Path test = write("test.csv", "a,b\n0,1\n");
    DataException e = assertThrows(DataException.class, () -> CsvReader.read(train, test));
    assertEquals(
        "test.csv line 1: expected 3 columns (label + 2 features), header has 2", e.getMessage());
  }

  @Test
  void nonNumericValueNamesLineAndColumn() throws IOException {
    Path f = write("data.csv", "0,1,2\n1,2,abc\n");
    DataException e = assertThrows(DataException.class, () -> CsvReader.readTable(f, -1));
    assertEquals("data.csv line 2 column 3: 'abc' is not a number", e.getMessage());
    Path g = write("g.csv", "0,1,NaN\n");
    e = assertThrows(DataException.class, () -> CsvReader.readTable(g, -1));
    assertEquals("g.csv line 1 column 3: 'NaN' is not a finite float32 number", e.getMessage());
  }

  @Test
  void badLabels() throws IOException {
    Path neg = write("neg.csv", "0,1\n-1,2\n");
    DataException e = assertThrows(DataException.class, () -> CsvReader.readTable(neg, -1));
    assertEquals(
        "neg.csv line 2 column 1: label -1 is negative: expected a class index >= 0",
        e.getMessage());
    Path frac = write("frac.csv", "0,1\n1.5,2\n");
    e = assertThrows(DataException.class, () -> CsvReader.readTable(frac, -1));
    assertEquals(
        "frac.csv line 2 column 1: label '1.5' is not a whole number: expected a class index >= 0",
        e.getMessage());
    Path big = write("big.csv", "0,1\n1000000,2\n");
    e = assertThrows(DataException.class, () -> CsvReader.readTable(big, -1));
    assertTrue(e.getMessage().startsWith("big.csv line 2 column 1: label 1000000 is too large"));
  }

  @Test
  void emptyOrHeaderOnlyFileIsAnError() throws IOException {
    Path empty = write("empty.csv", "");
    DataException e = assertThrows(DataException.class, () -> CsvReader.readTable(empty, -1));
    assertEquals(
        "empty.csv: no data rows: expected lines of 'label,feature1,feature2,...'",
        e.getMessage());
    Path header = write("h.csv", "label,x\n\n");
    assertThrows(DataException.class, () -> CsvReader.readTable(header, -1));
    Path labelOnly = write("l.csv", "1\n2\n");
    e = assertThrows(DataException.class, () -> CsvReader.readTable(labelOnly, -1));
    assertEquals(
        "l.csv line 1: expected a label and at least 1 feature, got 1 column", e.getMessage());
  }

  @Test
  void missingFileNamesThePath() {
    Path f = dir.resolve("nope.csv");
    DataException e = assertThrows(DataException.class, () -> CsvReader.read(f, f));
    assertEquals(f + ": file not found", e.getMessage());
  }

  @Test
  void holdoutIsDeterministicDisjointAndTwentyPercent() throws IOException {
    SplitMix64 rng = new SplitMix64(5);
    StringBuilder sb = new StringBuilder("label,x\n");
    for (int i = 0; i < 50; i++) {
      // feature i identifies the row; labels 0..2
      sb.append(rng.nextInt(3)).append(',').append(i).append('\n');
    }
    Path f = write("all.csv", sb.toString());
    TrainTestSplit a = CsvReader.readWithHoldout(f, 0.2, CsvReader.HOLDOUT_SEED);
    TrainTestSplit b = CsvReader.readWithHoldout(f, 0.2, CsvReader.HOLDOUT_SEED);
    assertEquals(40, a.train().count());
    assertEquals(10, a.test().count());
    assertArrayEquals(a.train().inputs(), b.train().inputs());
    assertArrayEquals(a.test().inputs(), b.test().inputs());
    // the feature is the row number and train and test share one increasing min-max map, so a
    // scaled value identifies its row
    Set<Float> rows = new HashSet<>();
    for (float v : a.train().inputs()) {
      rows.add(v);
    }
    for (float v : a.test().inputs()) {
      assertTrue(rows.add(v), "row " + v + " in both train and test");
    }
    assertEquals(50, rows.size());
    float[] testIds = a.test().inputs();
    float[] sorted = testIds.clone();
    Arrays.sort(sorted);
    assertArrayEquals(sorted, testIds, "test rows keep file order");
    float[] trainIds = a.train().inputs();
    sorted = trainIds.clone();
    Arrays.sort(sorted);
    assertArrayEquals(sorted, trainIds, "train rows keep file order");
    TrainTestSplit other = CsvReader.readWithHoldout(f, 0.2, 99);
    assertEquals(10, other.test().count());
    assertTrue(
        !Arrays.equals(a.train().labels(), other.train().labels())
            || !Arrays.equals(a.train().inputs(), other.train().inputs()),
        "another seed holds out other rows");
  }

  @Test
  void holdoutNeedsTwoRows() throws IOException {
    Path f = write("one.csv", "1,2\n");
    DataException e =
        assertThrows(DataException.class, () -> CsvReader.readWithHoldout(f, 0.2, 1));
    assertEquals(
        "one.csv: has 1 data row: expected at least 2 to hold out a test set", e.getMessage());
  }
}
