package io.gradflow.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SyntheticDataTest {

  private static void assertInUnitInterval(Dataset d) {
    for (float v : d.inputs()) {
      assertTrue(v >= 0f && v <= 1f, d.name() + ": input " + v + " outside [0, 1]");
    }
  }

  private static int[] classCounts(Dataset d) {
    int[] c = new int[d.classes()];
    for (int y : d.labels()) {
      c[y]++;
    }
    return c;
  }

  /** Fraction of test rows whose nearest training row (squared Euclidean) has the same label. */
  private static double nearestNeighbourAccuracy(TrainTestSplit s) {
    Dataset tr = s.train();
    Dataset te = s.test();
    int f = tr.features();
    int correct = 0;
    for (int i = 0; i < te.count(); i++) {
      double best = Double.POSITIVE_INFINITY;
      int label = -1;
      for (int j = 0; j < tr.count(); j++) {
        double d = 0;
        for (int k = 0; k < f; k++) {
          double diff = te.inputs()[i * f + k] - tr.inputs()[j * f + k];
          d += diff * diff;
        }
        if (d < best) {
          best = d;
          label = tr.labels()[j];
        }
      }
      if (label == te.labels()[i]) {
        correct++;
      }
    }
    return (double) correct / te.count();
  }

  @Test
  void spiralsShapeBalanceAndRange() {
    TrainTestSplit s = SyntheticData.spirals(3, 100, 0.2, 7);
    assertEquals(300, s.train().count());
    assertEquals(75, s.test().count());
    assertEquals(2, s.train().features());
    assertEquals(3, s.train().classes());
    assertEquals(3, s.test().classes());
    assertArrayEquals(new int[] {100, 100, 100}, classCounts(s.train()));
    assertArrayEquals(new int[] {25, 25, 25}, classCounts(s.test()));
    assertInUnitInterval(s.train());
    assertInUnitInterval(s.test());
    // radius of (2u - 1) is r <= 1
    float[] x = s.train().inputs();
    for (int i = 0; i < s.train().count(); i++) {
      double a = 2 * x[2 * i] - 1;
      double b = 2 * x[2 * i + 1] - 1;
      assertTrue(a * a + b * b <= 1.0 + 1e-6);
    }
  }

  @Test
  void spiralsAreDeterministicFromTheSeed() {
    TrainTestSplit a = SyntheticData.spirals(4, 50, 0.2, 123);
    TrainTestSplit b = SyntheticData.spirals(4, 50, 0.2, 123);
    TrainTestSplit c = SyntheticData.spirals(4, 50, 0.2, 124);
    assertArrayEquals(a.train().inputs(), b.train().inputs());
    assertArrayEquals(a.test().inputs(), b.test().inputs());
    assertFalse(Arrays.equals(a.train().inputs(), c.train().inputs()));
    float[] testPrefix = Arrays.copyOf(a.train().inputs(), a.test().inputs().length);
    assertFalse(
        Arrays.equals(testPrefix, a.test().inputs()), "the test set is an independent draw");
  }

  @Test
  void spiralArmsAreSeparable() {
    // with the classic noise the arms are learnable: 1-nearest-neighbour on the training draw
    // classifies the independent test draw almost perfectly
    double acc = nearestNeighbourAccuracy(SyntheticData.spirals(3, 300, 0.2, 1));
    assertTrue(acc > 0.9, "1-NN accuracy " + acc);
  }

  @Test
  void spiralsZeroNoiseIsExactCurve() {
    Dataset d = SyntheticData.spirals(2, 20, 0.0, 3).train();
    float[] x = d.inputs();
    for (int i = 0; i < d.count(); i++) {
      double a = 2 * x[2 * i] - 1;
      double b = 2 * x[2 * i + 1] - 1;
      double r = Math.sqrt(a * a + b * b);
      double theta = Math.PI * d.labels()[i] + 4 * r; // offset 2 pi j / 2
      assertEquals(r * Math.sin(theta), a, 1e-6);
      assertEquals(r * Math.cos(theta), b, 1e-6);
    }
  }

  @Test
  void blobsShapeLabelsAndRange() {
    TrainTestSplit s = SyntheticData.blobs(4, 200, 3, 0.05, 9);
    assertEquals(200, s.train().count());
    assertEquals(50, s.test().count());
    assertEquals(3, s.train().features());
    assertEquals(4, s.train().classes());
    for (int i = 0; i < s.train().count(); i++) {
      assertEquals(i % 4, s.train().labels()[i]);
    }
    assertInUnitInterval(s.train());
    assertInUnitInterval(s.test());
  }

  @Test
  void blobsTestSetOfAGivenSizeFromTheSameClusters() {
    TrainTestSplit quarter = SyntheticData.blobs(4, 200, 3, 0.05, 9);
    TrainTestSplit small = SyntheticData.blobs(4, 200, 3, 6, 0.05, 9);
    assertEquals(6, small.test().count());
    assertArrayEquals(quarter.train().inputs(), small.train().inputs());
    // the test rows are drawn from the same stream: the first six are the quarter-sized set's first six
    assertArrayEquals(Arrays.copyOf(quarter.test().inputs(), 6 * 3), small.test().inputs());
    for (int i = 0; i < 6; i++) {
      assertEquals(i % 4, small.test().labels()[i]);
    }
  }

  @Test
  void blobsAreDeterministicAndClustered() {
    TrainTestSplit a = SyntheticData.blobs(3, 300, 2, 0.05, 42);
    TrainTestSplit b = SyntheticData.blobs(3, 300, 2, 0.05, 42);
    assertArrayEquals(a.train().inputs(), b.train().inputs());
    assertArrayEquals(a.test().inputs(), b.test().inputs());
    float[] otherSeed = SyntheticData.blobs(3, 300, 2, 0.05, 43).train().inputs();
    assertFalse(Arrays.equals(a.train().inputs(), otherSeed));
    double acc = nearestNeighbourAccuracy(a);
    assertTrue(acc > 0.9, "1-NN accuracy " + acc);
  }

  @Test
  void blobsWithZeroSpreadSitOnTheirCentres() {
    Dataset d = SyntheticData.blobs(2, 6, 2, 0.0, 5).train();
    float[] x = d.inputs();
    for (int i = 2; i < d.count(); i++) {
      assertEquals(x[2 * (i - 2)], x[2 * i]);
      assertEquals(x[2 * (i - 2) + 1], x[2 * i + 1]);
    }
  }

  @Test
  void invalidArgumentsAreRejected() {
    assertThrows(IllegalArgumentException.class, () -> SyntheticData.spirals(1, 10, 0.2, 1));
    assertThrows(IllegalArgumentException.class, () -> SyntheticData.spirals(3, 0, 0.2, 1));
    assertThrows(IllegalArgumentException.class, () -> SyntheticData.spirals(3, 10, Double.NaN, 1));
    assertThrows(IllegalArgumentException.class, () -> SyntheticData.blobs(1, 10, 2, 0.1, 1));
    assertThrows(IllegalArgumentException.class, () -> SyntheticData.blobs(5, 4, 2, 0.1, 1));
    assertThrows(IllegalArgumentException.class, () -> SyntheticData.blobs(2, 10, 0, 0.1, 1));
    assertThrows(IllegalArgumentException.class, () -> SyntheticData.blobs(2, 10, 2, -1, 1));
    assertThrows(IllegalArgumentException.class, () -> SyntheticData.blobs(2, 10, 2, 0, 0.1, 1));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> SyntheticData.spirals(1000, 1_000_000, 0.2, 1));
    assertTrue(e.getMessage().contains("too large"), e.getMessage());
  }
}
