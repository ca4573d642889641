package io.gradflow.common.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.util.SplitMix64;
import org.junit.jupiter.api.Test;

/** The fused update gives the bits of the two former passes (drain the sum, then SGD), scalar and vector alike. */
class SgdLoopTest {
  @Test
  void vectorLoopMatchesTheScalarLoopBitForBit() {
    SplitMix64 rng = new SplitMix64(11);
    SgdLoop vector = new VectorSgdLoop();
    for (SgdLoop.Mode mode : SgdLoop.Mode.values()) {
      for (int n = 0; n < 70; n++) {
        long[] s = sums(rng, n);
        float[] w = floats(rng, n);
        float[] v = floats(rng, n);
        long[] s2 = s.clone();
        float[] w2 = w.clone();
        float[] v2 = v.clone();
        float[] g = new float[n];
        float[] g2 = new float[n];
        float decay = n % 2 == 0 ? 5e-4f : 0f;
        boolean scalarFinite = SgdLoop.SCALAR.apply(s, null, g, w, v, decay, 0.9f, 0.01f, mode);
        boolean vectorFinite = vector.apply(s2, null, g2, w2, v2, decay, 0.9f, 0.01f, mode);
        String what = mode + " n=" + n;
        assertTrue(scalarFinite, what);
        assertTrue(vectorFinite, what);
        assertArrayEquals(new long[n], s2, what);
        assertArrayEquals(bits(g), bits(g2), what);
        assertArrayEquals(bits(w), bits(w2), what);
        assertArrayEquals(bits(v), bits(v2), what);
      }
    }
  }

  /**
   * A second sum added in the pass ({@code x}: a step's last push) gives the bits of adding it into
   * the sum first and updating from the sum alone, and is not written; scalar and vector alike,
   * in the vector body and the scalar tail.
   */
  @Test
  void aSecondSumAddedInThePassGivesTheBitsOfAddingItFirst() {
    SplitMix64 rng = new SplitMix64(12);
    for (SgdLoop loop : new SgdLoop[] {SgdLoop.SCALAR, new VectorSgdLoop()}) {
      for (SgdLoop.Mode mode : SgdLoop.Mode.values()) {
        for (int n : new int[] {0, 5, 16, 37, 70}) {
          long[] s = sums(rng, n);
          long[] x = sums(rng, n);
          long[] xCopy = x.clone();
          long[] added = s.clone();
          for (int i = 0; i < n; i++) {
            added[i] += x[i];
          }
          float[] w = floats(rng, n);
          float[] v = floats(rng, n);
          float[] w2 = w.clone();
          float[] v2 = v.clone();
          float[] g = new float[n];
          float[] g2 = new float[n];
          String what = loop + " " + mode + " n=" + n;
          assertTrue(loop.apply(s, x, g, w, v, 5e-4f, 0.9f, 0.01f, mode), what);
          assertTrue(loop.apply(added, null, g2, w2, v2, 5e-4f, 0.9f, 0.01f, mode), what);
          assertArrayEquals(new long[n], s, what);
          assertArrayEquals(xCopy, x, what);
          assertArrayEquals(bits(g2), bits(g), what);
          assertArrayEquals(bits(w2), bits(w), what);
          assertArrayEquals(bits(v2), bits(v), what);
        }
      }
    }
  }

  /**
   * Without the gradient's store (g null) and with the sum left as it is, the weights and the
   * momentum get the bits of the full pass, and the sum is not written; scalar and vector alike,
   * in the vector body and the scalar tail.
   */
  @Test
  void skippingTheGradientAndTheSumsClearChangesNoWeightBit() {
    SplitMix64 rng = new SplitMix64(21);
    for (SgdLoop loop : new SgdLoop[] {SgdLoop.SCALAR, new VectorSgdLoop()}) {
      for (SgdLoop.Mode mode : SgdLoop.Mode.values()) {
        for (int n : new int[] {0, 5, 16, 37, 70}) {
          long[] s = sums(rng, n);
          long[] x = sums(rng, n);
          long[] sCopy = s.clone();
          float[] w = floats(rng, n);
          float[] v = floats(rng, n);
          float[] w2 = w.clone();
          float[] v2 = v.clone();
          String what = loop + " " + mode + " n=" + n;
          assertTrue(loop.apply(sCopy.clone(), x, new float[n], w, v, 5e-4f, 0.9f, 0.01f, mode, 0, n, true), what);
          assertTrue(loop.apply(s, x, null, w2, v2, 5e-4f, 0.9f, 0.01f, mode, 0, n, false), what);
          assertArrayEquals(sCopy, s, what);
          assertArrayEquals(bits(w), bits(w2), what);
          assertArrayEquals(bits(v), bits(v2), what);
        }
      }
    }
  }

  /** The loop reports a weight that became infinite or NaN, wherever it is (vector body or scalar tail). */
  @Test
  void aNonFiniteWeightIsReported() {
    int n = 70;
    for (SgdLoop loop : new SgdLoop[] {SgdLoop.SCALAR, new VectorSgdLoop()}) {
      for (int bad : new int[] {0, 5, 17, 40, 69}) {
        for (float weight : new float[] {Float.MAX_VALUE, Float.NaN}) {
          long[] s = new long[n];
          float[] w = new float[n];
          w[bad] = weight;
          s[bad] = -(1L << 57); // a gradient of -2^17: with lr 2^110 the step overflows a float
          assertFalse(loop.apply(s, null, new float[n], w, new float[n], 0f, 0f, 0x1p110f, SgdLoop.Mode.NONE),
              loop + " missed w[" + bad + "] = " + w[bad]);
        }
      }
      assertTrue(loop.apply(new long[n], null, new float[n], new float[n], new float[n], 0f, 0f, 0x1p110f, SgdLoop.Mode.NONE));
    }
  }

  @Test
  void fusedStepMatchesDrainThenStep() {
    ModelSpec spec = ModelSpec.parse("13-7-3", "relu", "", 1);
    for (double momentum : new double[] {0.0, 0.9}) {
      Network a = Network.initialize(spec);
      Network b = a.copy();
      SgdOptimizer twoPass = new SgdOptimizer(a, LearningRateSchedule.constant(0.05), momentum, 1e-3);
      SgdOptimizer fused = new SgdOptimizer(b, LearningRateSchedule.constant(0.05), momentum, 1e-3);
      ExactGradientSum sumA = new ExactGradientSum(a);
      ExactGradientSum sumB = new ExactGradientSum(b);
      Gradients gA = new Gradients(spec);
      Gradients gB = new Gradients(spec);
      SplitMix64 rng = new SplitMix64(5);
      for (int step = 0; step < 4; step++) {
        for (int t = 0; t < sumA.tensorCount(); t++) {
          long[] s = sums(rng, sumA.tensor(t).length);
          System.arraycopy(s, 0, sumA.tensor(t), 0, s.length);
          System.arraycopy(s, 0, sumB.tensor(t), 0, s.length);
        }
        gA.drainFrom(sumA);
        assertEquals(twoPass.step(a, gA, step), fused.step(b, sumB, gB, step));
        for (int t = 0; t < a.tensorCount(); t++) {
          assertArrayEquals(bits(a.tensor(t)), bits(b.tensor(t)), "step " + step + " tensor " + t);
          assertArrayEquals(bits(gA.tensor(t)), bits(gB.tensor(t)));
          assertArrayEquals(bits(twoPass.velocity(t)), bits(fused.velocity(t)));
          assertArrayEquals(new long[sumB.tensor(t).length], sumB.tensor(t));
        }
      }
    }
  }

  /**
   * A sharded server's ranged pass (elements [from, end) of each tensor) gives each element of the
   * range the bits of the whole pass, with weight decay and momentum over several steps (first step
   * and later), and reads or writes nothing outside the range, vector body and scalar tail alike.
   */
  @Test
  void aRangedStepEqualsTheWholeStepOnTheRangeAndLeavesTheRestAlone() {
    ModelSpec spec = ModelSpec.parse("40-37-3", "relu", "", 1);
    for (double momentum : new double[] {0.0, 0.9}) {
      Network whole = Network.initialize(spec);
      Network ranged = whole.copy();
      Network before = whole.copy();
      int[] from = new int[whole.tensorCount()];
      int[] end = new int[whole.tensorCount()];
      for (int t = 0; t < from.length; t++) {
        int n = whole.tensor(t).length;
        from[t] = Math.min(n, (t * 13 + 5) % 41);
        end[t] = t == 3 ? from[t] : Math.max(from[t], n - (t * 7 + 3) % 29); // tensor 3: an empty range
      }
      SgdOptimizer all = new SgdOptimizer(whole, LearningRateSchedule.constant(0.05), momentum, 1e-3);
      SgdOptimizer part = new SgdOptimizer(ranged, LearningRateSchedule.constant(0.05), momentum, 1e-3);
      ExactGradientSum sumAll = new ExactGradientSum(whole);
      ExactGradientSum sumPart = new ExactGradientSum(ranged);
      Gradients gAll = new Gradients(spec);
      Gradients gPart = new Gradients(spec);
      SplitMix64 rng = new SplitMix64(17);
      for (int step = 0; step < 4; step++) {
        long[][] given = new long[sumAll.tensorCount()][];
        for (int t = 0; t < sumAll.tensorCount(); t++) {
          given[t] = sums(rng, sumAll.tensor(t).length);
          System.arraycopy(given[t], 0, sumAll.tensor(t), 0, given[t].length);
          System.arraycopy(given[t], 0, sumPart.tensor(t), 0, given[t].length);
        }
        assertEquals(all.step(whole, sumAll, gAll, step), part.step(ranged, sumPart, null, gPart, step, from, end));
        for (int t = 0; t < whole.tensorCount(); t++) {
          for (int i = 0; i < whole.tensor(t).length; i++) {
            String what = "momentum " + momentum + " step " + step + " tensor " + t + " [" + i + "]";
            boolean in = i >= from[t] && i < end[t];
            assertEquals(Float.floatToRawIntBits(in ? whole.tensor(t)[i] : before.tensor(t)[i]),
                Float.floatToRawIntBits(ranged.tensor(t)[i]), what + " weight");
            assertEquals(Float.floatToRawIntBits(in ? all.velocity(t)[i] : 0f), Float.floatToRawIntBits(part.velocity(t)[i]),
                what + " momentum");
            assertEquals(Float.floatToRawIntBits(in ? gAll.tensor(t)[i] : 0f), Float.floatToRawIntBits(gPart.tensor(t)[i]),
                what + " gradient");
            assertEquals(in ? 0L : given[t][i], sumPart.tensor(t)[i], what + " sum");
          }
        }
      }
    }
  }

  /** Fixed-point sums of every size up to 2^58, zeros included. */
  private static long[] sums(SplitMix64 rng, int n) {
    long[] s = new long[n];
    for (int i = 0; i < n; i++) {
      int bits = (int) Math.floorMod(rng.nextLong(), 59L);
      s[i] = i % 7 == 3 ? 0L : rng.nextLong() >> (64 - Math.max(1, bits));
    }
    return s;
  }

  /** Weights of every sign and scale, signed zeros included. */
  private static float[] floats(SplitMix64 rng, int n) {
    float[] f = new float[n];
    for (int i = 0; i < n; i++) {
      f[i] = i % 5 == 1 ? -0f : i % 5 == 2 ? 0f : (float) (rng.nextGaussian() * Math.scalb(1.0, (int) Math.floorMod(rng.nextLong(), 20L) - 10));
    }
    return f;
  }

  private static int[] bits(float[] f) {
    int[] b = new int[f.length];
    for (int i = 0; i < f.length; i++) {
      b[i] = Float.floatToRawIntBits(f[i]);
    }
    return b;
  }
}
