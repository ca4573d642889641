package io.gradflow.common.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link SquaredNorms#sumOfSquares} is the order its comment defines, to the bit, at every length
 * around a block (the whole blocks, the tail and neither), and close to the exact sum.
 */
class SquaredNormsTest {
  private static final int[] LENGTHS = {0, 1, 7, 15, 16, 17, 31, 32, 33, 128, 1000, 235_146};

  /** The definition, one element at a time: partial sum {@code i mod 16} per whole block, lanes in order, then the tail. */
  private static double reference(float[] a) {
    int block = SquaredNorms.BLOCK;
    double[] partial = new double[block];
    int whole = a.length - a.length % block;
    for (int i = 0; i < whole; i++) {
      partial[i % block] += (double) a[i] * a[i];
    }
    double s = 0;
    for (double p : partial) {
      s += p;
    }
    for (int i = whole; i < a.length; i++) {
      s += (double) a[i] * a[i];
    }
    return s;
  }

  private static float[] values(int n, long seed, double scale) {
    Random r = new Random(seed);
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (r.nextGaussian() * scale);
    }
    return a;
  }

  @Test
  void itIsTheDefinedOrderToTheBit() {
    for (int n : LENGTHS) {
      for (double scale : new double[] {1e-6, 1e-2, 1, 1e5}) {
        float[] a = values(n, 31L * n + (long) Math.log10(scale), scale);
        for (int k = 0; k < 200; k++) { // compiled, not only interpreted
          SquaredNorms.sumOfSquares(a);
        }
        assertEquals(Double.doubleToLongBits(reference(a)), Double.doubleToLongBits(SquaredNorms.sumOfSquares(a)),
            "length " + n + ", scale " + scale);
      }
    }
  }

  @Test
  void itIsCloseToTheExactSum() {
    float[] a = values(235_146, 7, 1e-3);
    BigDecimal exact = BigDecimal.ZERO;
    for (float v : a) {
      BigDecimal x = new BigDecimal(v);
      exact = exact.add(x.multiply(x));
    }
    double got = SquaredNorms.sumOfSquares(a);
    double relative = Math.abs(got - exact.doubleValue()) / exact.doubleValue();
    assertTrue(relative < 1e-13, "relative error " + relative);
  }

  @Test
  void anEmptyArrayIsZero() {
    assertEquals(0.0, SquaredNorms.sumOfSquares(new float[0]));
  }
}
