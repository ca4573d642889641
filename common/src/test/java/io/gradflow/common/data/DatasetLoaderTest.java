package io.gradflow.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetLoaderTest {
  @TempDir Path tmp;

  /** A loader whose system directory is an empty temp folder and whose environment is a map. */
  private DatasetLoader loader(Path dataDir, Map<String, String> env) throws IOException {
    Path system = Files.createDirectories(tmp.resolve("system"));
    return new DatasetLoader(system, dataDir, env::get);
  }

  @Test
  void syntheticDefaultsAndArguments() throws IOException {
    DatasetLoader l = loader(null, Map.of());
    TrainTestSplit s = l.load("spirals");
    assertEquals(3000, s.train().count());
    assertEquals(2, s.train().features());
    assertEquals(3, s.train().classes());
    TrainTestSplit s2 = l.load("spirals:4:50");
    assertEquals(200, s2.train().count());
    assertEquals(4, s2.train().classes());
    assertEquals(4 * DatasetLoader.DEFAULT_SPIRAL_POINTS, l.load("spirals:4").train().count());
    TrainTestSplit b = l.load("blobs:3:90");
    assertEquals(90, b.train().count());
    assertEquals(3, b.train().classes());
    assertEquals(DatasetLoader.DEFAULT_BLOB_CLASSES, l.load("blobs").train().classes());
    assertEquals(23, b.test().count()); // a quarter of the points, rounded up
    TrainTestSplit small = l.load("blobs:3:90:4:5");
    assertEquals(90, small.train().count());
    assertEquals(4, small.train().features());
    assertEquals(5, small.test().count());
    assertEquals(90 * 4, small.train().inputs().length);
    // the same seed gives the same data; load(spec) uses the fixed synthetic seed
    assertArrayEquals(
        l.load("spirals", DatasetLoader.SYNTHETIC_SEED).train().inputs(), s.train().inputs());
    assertFalse(
        java.util.Arrays.equals(l.load("spirals", 1).train().inputs(), s.train().inputs()));
  }

  /**
   * A worker's training set is the one {@code load} gives (the same digest, classes from both label
   * files) without the test images: a corrupt test images file stops {@code load}, not {@code loadTrain}.
   */
  @Test
  void loadTrainGivesLoadsTrainingSetWithoutReadingTheTestImages() throws IOException {
    Path named = tmp.resolve("data");
    IdxTestFiles.writeMnistLayout(named.resolve("fashion-mnist"), 20, 10, 10);
    Path dir = tmp.resolve("idx");
    IdxTestFiles.writeMnistLayout(dir, 12, 6, 4);
    IdxTestFiles.write(dir.resolve("t10k-labels-idx1-ubyte.gz"), IdxTestFiles.gzip(IdxTestFiles.labels(0, 1, 2, 3, 4, 5)));
    DatasetLoader l = loader(named, Map.of());
    for (String spec : List.of("fashion-mnist", "idx:" + dir, "spirals:3:20", "blobs:3:30")) {
      Dataset whole = l.load(spec).train();
      Dataset alone = l.loadTrain(spec);
      assertEquals(whole.sha256(), alone.sha256(), spec);
      assertEquals(whole.name(), alone.name(), spec);
    }
    assertEquals(6, l.loadTrain("idx:" + dir).classes(), "a label of the test set counts");
    IdxTestFiles.write(dir.resolve("t10k-images-idx3-ubyte.gz"), new byte[] {0x1f, (byte) 0x8b, 1});
    assertThrows(DataException.class, () -> l.load("idx:" + dir));
    assertEquals(12, l.loadTrain("idx:" + dir).count());
  }

  @Test
  void unknownOrMalformedSpecsAreIllegalArguments() throws IOException {
    DatasetLoader l = loader(null, Map.of());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> l.load("cifar10"));
    assertEquals(
        "unknown dataset 'cifar10': expected one of fashion-mnist, mnist, idx:DIR,"
            + " csv:TRAIN.csv[,TEST.csv], spirals[:ARMS[:POINTS_PER_ARM]],"
            + " blobs[:CLASSES[:POINTS[:FEATURES[:TEST_POINTS]]]]",
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> l.load("spirals:x"));
    assertEquals(
        "dataset 'spirals:x': ARMS 'x' is not a whole number: expected"
            + " spirals[:ARMS[:POINTS_PER_ARM]]",
        e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> l.load("spirals:3:10:2"));
    assertThrows(IllegalArgumentException.class, () -> l.load("blobs:0"));
    e = assertThrows(IllegalArgumentException.class, () -> l.load("blobs:3:90:2:0"));
    assertEquals(
        "dataset 'blobs:3:90:2:0': TEST_POINTS 0 must be positive: expected"
            + " blobs[:CLASSES[:POINTS[:FEATURES[:TEST_POINTS]]]]",
        e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> l.load("blobs:3:90:2:5:1"));
    assertThrows(IllegalArgumentException.class, () -> l.load("spirals:1"));
    assertThrows(IllegalArgumentException.class, () -> l.load("fashion-mnist:x"));
    assertThrows(IllegalArgumentException.class, () -> l.load("idx:"));
    assertThrows(IllegalArgumentException.class, () -> l.load("csv:a.csv,"));
    assertThrows(IllegalArgumentException.class, () -> l.load(""));
  }

  @Test
  void acceptedFormsForHelpText() {
    List<String> forms = DatasetLoader.acceptedForms();
    assertEquals(6, forms.size());
    String help = DatasetLoader.describeForms();
    for (String form : forms) {
      assertTrue(help.contains(form), form);
    }
  }

  @Test
  void fashionMnistFromDataDirSubfolder() throws IOException {
    Path data = tmp.resolve("data");
    IdxTestFiles.writeMnistLayout(data.resolve("fashion-mnist"), 20, 10, 10);
    TrainTestSplit s = loader(data, Map.of()).load("fashion-mnist");
    assertEquals(20, s.train().count());
    assertEquals(10, s.test().count());
    assertEquals(6, s.train().features());
    assertEquals(10, s.train().classes());
    assertEquals("fashion-mnist train", s.train().name());
    assertEquals(7 / 255f, s.train().inputs()[6]); // image 1, pixel 0
  }

  @Test
  void systemDirectoryComesFirstThenDataDirThenEnvironment() throws IOException {
    Path system = tmp.resolve("sys");
    Path data = tmp.resolve("data");
    Path env = tmp.resolve("env");
    IdxTestFiles.writeMnistLayout(system.resolve("fashion-mnist"), 11, 5, 10);
    IdxTestFiles.writeMnistLayout(data, 12, 5, 10);
    IdxTestFiles.writeMnistLayout(env.resolve("fashion-mnist"), 13, 5, 10);
    Map<String, String> e = Map.of(DatasetLoader.DATA_ENV, env.toString());
    assertEquals(
        11, new DatasetLoader(system, data, e::get).load("fashion-mnist").train().count());
    Path none = tmp.resolve("none");
    assertEquals(12, new DatasetLoader(none, data, e::get).load("fashion-mnist").train().count());
    assertEquals(13, new DatasetLoader(none, null, e::get).load("fashion-mnist").train().count());
    assertEquals(
        List.of(
            system.resolve("mnist"), data.resolve("mnist"), data, env.resolve("mnist"), env),
        new DatasetLoader(system, data, e::get).searchPath("mnist"));
  }

  @Test
  void mnistUsesTheSameLayout() throws IOException {
    Path env = tmp.resolve("env");
    IdxTestFiles.writeMnistLayout(env, 8, 4, 10);
    TrainTestSplit s = loader(null, Map.of(DatasetLoader.DATA_ENV, env.toString())).load("MNIST");
    assertEquals(8, s.train().count());
    assertEquals("mnist test", s.test().name());
  }

  @Test
  void missingDatasetSaysWhereItLookedAndHowToGetIt() throws IOException {
    Path data = tmp.resolve("data");
    DatasetLoader l = loader(data, Map.of());
    DataException e = assertThrows(DataException.class, () -> l.load("fashion-mnist"));
    assertEquals(
        "fashion-mnist not found in " + tmp.resolve("system/fashion-mnist") + ", "
            + data.resolve("fashion-mnist") + ", " + data + ", $GRADFLOW_DATA (not set):"
            + " install it with 'apt-get install dataset-fashion-mnist' or pass --data-dir DIR",
        e.getMessage());
    e = assertThrows(DataException.class, () -> l.load("mnist"));
    assertTrue(e.getMessage().contains("pass --data-dir DIR"), e.getMessage());
  }

  @Test
  void incompleteDirectoryNamesTheMissingFiles() throws IOException {
    Path data = tmp.resolve("data");
    IdxTestFiles.writeMnistLayout(data, 8, 4, 10);
    Files.delete(data.resolve("t10k-labels-idx1-ubyte.gz"));
    DataException e =
        assertThrows(DataException.class, () -> loader(data, Map.of()).load("fashion-mnist"));
    assertEquals(
        "fashion-mnist in " + data + " is incomplete: missing t10k-labels-idx1-ubyte[.gz]",
        e.getMessage());
  }

  @Test
  void idxDirTakesClassesFromTheLabels() throws IOException {
    Path d = tmp.resolve("mine");
    IdxTestFiles.writeMnistLayout(d, 9, 3, 3);
    // a raw (not gzipped) file next to the gzipped ones is preferred
    Files.write(
        d.resolve("t10k-labels-idx1-ubyte"), IdxTestFiles.labels(0, 4, 1));
    TrainTestSplit s = loader(null, Map.of()).load("idx:" + d);
    assertEquals(5, s.train().classes());
    assertArrayEquals(new int[] {0, 4, 1}, s.test().labels());
    DataException e =
        assertThrows(
            DataException.class, () -> loader(null, Map.of()).load("idx:" + tmp.resolve("x")));
    assertTrue(e.getMessage().contains("directory not found"), e.getMessage());
  }

  /** Test images of another size than the training images: a data error naming the test file and both sizes. */
  @Test
  void idxTestImagesOfAnotherSizeAreADataErrorNamingTheFile() {
    Path d = tmp.resolve("sizes");
    IdxTestFiles.writeMnistLayout(d, 9, 3, 3); // 2x3 images
    Path test = IdxTestFiles.write(d.resolve("t10k-images-idx3-ubyte"), IdxTestFiles.images(3, 5, 5, new byte[3 * 25]));
    DataException e = assertThrows(DataException.class, () -> loader(null, Map.of()).load("idx:" + d));
    assertEquals(test + ": images of 25 pixels: expected 6, the size of the training images in train-images-idx3-ubyte.gz",
        e.getMessage());
  }

  @Test
  void csvWithOneFileHoldsOutTwentyPercent() throws IOException {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 30; i++) {
      sb.append(i % 2).append(',').append(i).append(',').append(2 * i).append('\n');
    }
    Path f = Files.writeString(tmp.resolve("all.csv"), sb);
    TrainTestSplit s = loader(null, Map.of()).load("csv:" + f);
    assertEquals(24, s.train().count());
    assertEquals(6, s.test().count());
    assertEquals(2, s.train().features());
    TrainTestSplit again = loader(null, Map.of()).load("csv:" + f);
    assertArrayEquals(s.test().inputs(), again.test().inputs());
  }

  @Test
  void csvWithTrainAndTestFiles() throws IOException {
    Path train = Files.writeString(tmp.resolve("train.csv"), "0,1\n1,3\n");
    Path test = Files.writeString(tmp.resolve("test.csv"), "1,2\n");
    TrainTestSplit s = loader(null, Map.of()).load("csv:" + train + "," + test);
    assertEquals(2, s.train().count());
    assertArrayEquals(new float[] {0.5f}, s.test().inputs());
  }
}
