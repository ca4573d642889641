package io.gradflow.common.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.reduce.ExactGradientSum;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link VectorKernels#addSegmentGradientsFixed} against its definition: per segment, {@link
 * VectorKernels#weightGradient} and {@link VectorKernels#biasGradient} on that segment's rows
 * alone, each element rounded by {@link ExactGradientSum#toFixed} and added. Bit for bit, on shapes
 * that exercise every tile edge (rows of dW mod 6, columns mod 16 and past the 256-column tile),
 * unequal segments, a segment longer than a cache block, and sums that already hold values: added
 * to, or ignored with {@code overwrite}.
 */
class SegmentGradientsFixedTest {
  private final VectorKernels fused = new VectorKernels();
  private final VectorKernels plain = new VectorKernels();

  @Test
  void matchesPerSegmentKernelsThenRoundingBitForBit() {
    Random rnd = new Random(11);
    int[][] shapes = {{1, 1}, {3, 7}, {17, 5}, {33, 10}, {100, 13}, {257, 9}, {784, 256}, {300, 23}};
    // one, two, three, four and five segments: paired, and with an unpaired last one
    int[][] cuts = {{0, 1}, {0, 16, 32, 48, 64}, {0, 7, 8, 21, 40}, {0, 3, 300}, {5, 9, 26}, {0, 5, 11, 30},
        {2, 4, 6, 8, 10, 19}};
    for (int[] shape : shapes) {
      for (int[] cut : cuts) {
        check(rnd, shape[0], shape[1], cut, false);
        check(rnd, shape[0], shape[1], cut, true);
      }
    }
  }

  @Test
  void aNonFiniteOrHugeElementIsReported() {
    int in = 20;
    int out = 9;
    int rows = 8;
    float[] x = new float[rows * in];
    float[] dz = new float[rows * out];
    java.util.Arrays.fill(x, 1f);
    java.util.Arrays.fill(dz, 1e-3f);
    int[] starts = {0, 4, 8};
    assertTrue(fused.addSegmentGradientsFixed(dz, x, starts, 2, in, out, new long[in * out], new long[out], false));
    dz[5 * out + 3] = Float.NaN;
    assertFalse(fused.addSegmentGradientsFixed(dz, x, starts, 2, in, out, new long[in * out], new long[out], false));
    dz[5 * out + 3] = 0f;
    dz[1 * out + 3] = Float.NaN; // in the first segment of the pair
    assertFalse(fused.addSegmentGradientsFixed(dz, x, starts, 2, in, out, new long[in * out], new long[out], false));
    dz[1 * out + 3] = 0f;
    dz[5 * out + 3] = Float.POSITIVE_INFINITY; // row 5: the third segment of three, unpaired
    assertFalse(fused.addSegmentGradientsFixed(dz, x, new int[] {0, 2, 4, 8}, 3, in, out, new long[in * out], new long[out], false));
    dz[5 * out + 3] = 0f;
    assertTrue(fused.addSegmentGradientsFixed(dz, x, new int[] {0, 2, 4, 8}, 3, in, out, new long[in * out], new long[out], false));
    x[2 * in + 19] = 3e6f; // dW[j][19] = 1e-3 * 3e6 = 3000 > 2^11
    assertFalse(fused.addSegmentGradientsFixed(dz, x, starts, 2, in, out, new long[in * out], new long[out], false));
  }

  @Test
  void emptyOrMissingSegmentsAreRefused() {
    float[] a = new float[64];
    long[] s = new long[64];
    assertThrows(IllegalArgumentException.class,
        () -> fused.addSegmentGradientsFixed(a, a, new int[] {0, 2, 2}, 2, 4, 4, s, s, false));
    assertThrows(IllegalArgumentException.class,
        () -> fused.addSegmentGradientsFixed(a, a, new int[] {0}, 0, 4, 4, s, s, false));
    assertThrows(IllegalArgumentException.class,
        () -> fused.addSegmentGradientsFixed(a, a, new int[] {0, 4}, 1, 4, 4, new long[3], s, false));
  }

  /** With {@code overwrite} the sums hold other values before, and the result must not see them. */
  private void check(Random rnd, int in, int out, int[] starts, boolean overwrite) {
    int segments = starts.length - 1;
    int rows = starts[segments];
    float[] x = random(rnd, rows * in, 1f);
    float[] dz = random(rnd, rows * out, 1e-2f);
    long[] dwSum = new long[in * out];
    long[] dbSum = new long[out];
    for (int i = 0; i < dwSum.length; i++) {
      dwSum[i] = rnd.nextLong() >> 20;
    }
    for (int j = 0; j < out; j++) {
      dbSum[j] = rnd.nextLong() >> 20;
    }
    long[] dwExpected = overwrite ? new long[dwSum.length] : dwSum.clone();
    long[] dbExpected = overwrite ? new long[out] : dbSum.clone();
    for (int s = 0; s < segments; s++) {
      int r0 = starts[s];
      int n = starts[s + 1] - r0;
      float[] xs = java.util.Arrays.copyOfRange(x, r0 * in, (r0 + n) * in);
      float[] dzs = java.util.Arrays.copyOfRange(dz, r0 * out, (r0 + n) * out);
      float[] dw = new float[in * out];
      float[] db = new float[out];
      plain.weightGradient(dzs, xs, dw, n, in, out);
      plain.biasGradient(dzs, db, n, out);
      for (int i = 0; i < dw.length; i++) {
        dwExpected[i] += ExactGradientSum.toFixed(0, i, dw[i]);
      }
      for (int j = 0; j < out; j++) {
        dbExpected[j] += ExactGradientSum.toFixed(1, j, db[j]);
      }
    }
    assertTrue(fused.addSegmentGradientsFixed(dz, x, starts, segments, in, out, dwSum, dbSum, overwrite));
    String what = in + "x" + out + " segments " + java.util.Arrays.toString(starts) + (overwrite ? ", overwrite" : "");
    assertArrayEquals(dwExpected, dwSum, "dW " + what);
    assertArrayEquals(dbExpected, dbSum, "db " + what);
  }

  private static float[] random(Random rnd, int n, float scale) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (rnd.nextGaussian() * scale);
    }
    // exact ties of the fixed-point rounding: k + 1/2 units of 2^-40
    if (n > 2) {
      a[1] = 0x1.8p-40f;
      a[2] = -0x1.4p-39f;
    }
    return a;
  }
}
