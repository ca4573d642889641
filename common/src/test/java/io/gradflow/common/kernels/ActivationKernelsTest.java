package io.gradflow.common.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.gradflow.common.model.Activation;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link VectorKernels#activate} and {@link VectorKernels#activationGradient} against {@link
 * Activation}'s scalar definitions, bit for bit, including zeros of both signs, NaN, infinities
 * and lengths that leave a tail.
 */
class ActivationKernelsTest {
  private static final float[] SPECIAL = {
    0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_VALUE,
    -Float.MIN_VALUE, 1f, -1f, 0.5f
  };

  @Test
  void everyActivationMatchesTheScalarDefinitionBitForBit() {
    Random rnd = new Random(4);
    VectorKernels v = new VectorKernels();
    for (Activation f : Activation.values()) {
      for (int n : new int[] {1, 15, 16, 17, 100}) {
        float[] z = values(rnd, n);
        float[] expected = z.clone();
        f.applyInPlace(expected, 0, n);
        float[] actual = z.clone();
        v.activate(f, actual, n);
        same(expected, actual, f + " forward, n=" + n);

        float[] a = values(rnd, n);
        float[] d = values(rnd, n);
        float[] dExpected = d.clone();
        for (int k = 0; k < n; k++) {
          dExpected[k] *= f.derivativeFromOutput(a[k]);
        }
        v.activationGradient(f, a, d, n);
        same(dExpected, d, f + " gradient, n=" + n);
      }
    }
  }

  private static float[] values(Random rnd, int n) {
    float[] x = new float[n + 3];
    for (int i = 0; i < x.length; i++) {
      x[i] = i % 3 == 0 ? SPECIAL[rnd.nextInt(SPECIAL.length)] : (float) rnd.nextGaussian();
    }
    return x;
  }

  private static void same(float[] expected, float[] actual, String what) {
    for (int i = 0; i < expected.length; i++) {
      assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]),
          what + " at " + i + ": expected " + expected[i] + ", got " + actual[i]);
    }
  }
}
