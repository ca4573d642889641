package io.gradflow.common.reduce;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.util.SplitMix64;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ExactGradientSumTest {
  private final ModelSpec spec = ModelSpec.parse("5-4-3", "relu", "", 1);
  private final Network shape = new Network(spec);

  private List<Gradients> randomShards(int n, long seed) {
    SplitMix64 rng = new SplitMix64(seed);
    List<Gradients> shards = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Gradients g = new Gradients(spec);
      for (int t = 0; t < g.tensorCount(); t++) {
        float[] v = g.tensor(t);
        for (int k = 0; k < v.length; k++) {
          // wide dynamic range: where float addition is far from associative
          v[k] = (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(9) - 6));
        }
      }
      shards.add(g);
    }
    return shards;
  }

  private float[][] sumOf(List<Gradients> shards) {
    ExactGradientSum sum = new ExactGradientSum(shape);
    for (Gradients g : shards) {
      g.addTo(sum);
    }
    Gradients out = new Gradients(spec);
    out.drainFrom(sum);
    float[][] r = new float[out.tensorCount()][];
    for (int t = 0; t < r.length; t++) {
      r[t] = out.tensor(t).clone();
    }
    return r;
  }

  @Test
  void drainLeavesTheSumEmpty() {
    ExactGradientSum sum = new ExactGradientSum(shape);
    for (Gradients g : randomShards(3, 11)) {
      g.addTo(sum);
    }
    new Gradients(spec).drainFrom(sum);
    for (int t = 0; t < sum.tensorCount(); t++) {
      org.junit.jupiter.api.Assertions.assertArrayEquals(new long[sum.tensor(t).length], sum.tensor(t));
    }
  }

  @Test
  void sumIsTheSameBitsInEveryOrder() {
    List<Gradients> shards = randomShards(8, 7);
    float[][] reference = sumOf(shards);
    Random shuffler = new Random(3);
    for (int trial = 0; trial < 20; trial++) {
      List<Gradients> copy = new ArrayList<>(shards);
      Collections.shuffle(copy, shuffler);
      float[][] again = sumOf(copy);
      for (int t = 0; t < reference.length; t++) {
        assertArrayEquals(reference[t], again[t], 0f, "tensor " + t + " trial " + trial);
      }
    }
  }

  @Test
  void groupedPartialSumsEqualTheFlatSum() {
    List<Gradients> shards = randomShards(8, 11);
    ExactGradientSum flat = new ExactGradientSum(shape);
    shards.forEach(g -> g.addTo(flat));
    // three "workers" owning shards [0,3), [3,5), [5,8), summed locally then added together
    ExactGradientSum total = new ExactGradientSum(shape);
    int[] bounds = {0, 3, 5, 8};
    for (int w = 0; w < 3; w++) {
      ExactGradientSum local = new ExactGradientSum(shape);
      for (int m = bounds[w]; m < bounds[w + 1]; m++) {
        shards.get(m).addTo(local);
      }
      total.addAll(local);
    }
    for (int t = 0; t < flat.tensorCount(); t++) {
      assertArrayEquals(flat.tensor(t), total.tensor(t));
    }
  }

  @Test
  void sumIsCloseToTheFloatSum() {
    List<Gradients> shards = randomShards(4, 5);
    float[][] exact = sumOf(shards);
    for (int t = 0; t < exact.length; t++) {
      for (int k = 0; k < exact[t].length; k++) {
        double d = 0;
        for (Gradients g : shards) {
          d += g.tensor(t)[k];
        }
        assertEquals(d, exact[t][k], Math.abs(d) * 1e-6 + 4 * 0x1.0p-40);
      }
    }
  }

  @Test
  void refusesNaNAndInfinityNamingTheTensor() {
    Gradients g = new Gradients(spec);
    g.tensor(2)[3] = Float.NaN;
    ExactGradientSum sum = new ExactGradientSum(shape);
    var e = assertThrows(ExactGradientSum.NonFiniteGradientException.class, () -> g.addTo(sum));
    assertTrue(e.getMessage().contains("layer1.W[3]"), e.getMessage());
    g.tensor(2)[3] = Float.POSITIVE_INFINITY;
    assertThrows(ExactGradientSum.NonFiniteGradientException.class, () -> g.addTo(new ExactGradientSum(shape)));
    g.tensor(2)[3] = 3000f;
    assertThrows(ExactGradientSum.NonFiniteGradientException.class, () -> g.addTo(new ExactGradientSum(shape)));
  }

  @Test
  void addingRoundsEveryElementByTheOneRule() {
    SplitMix64 rng = new SplitMix64(9);
    float[] v = new float[1003];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(12) - 10));
    }
    v[17] = 0.5f * 0x1.0p-40f; // a tie: to even, 0
    v[18] = 1.5f * 0x1.0p-40f; // a tie: to even, 2
    ExactGradientSum sum = new ExactGradientSum(new Network(ModelSpec.parse("1003-2", "relu", "", 1)));
    sum.addFloats(0, v, 0, v.length);
    for (int i = 0; i < v.length; i++) {
      assertEquals(ExactGradientSum.toFixed(0, i, v[i]), sum.tensor(0)[i], "element " + i);
    }
    assertEquals(0L, sum.tensor(0)[17]);
    assertEquals(2L, sum.tensor(0)[18]);
  }

  @Test
  void fixedPointRoundsOnceToTheNearestMultipleOfTheResolution() {
    assertEquals(1L << 40, ExactGradientSum.toFixed(0, 0, 1f));
    assertEquals(-(1L << 39), ExactGradientSum.toFixed(0, 0, -0.5f));
    assertEquals(0L, ExactGradientSum.toFixed(0, 0, 1e-13f));
    assertEquals(1L, ExactGradientSum.toFixed(0, 0, 1e-12f));
  }

  /**
   * A new sum is zero and spent, as after its values were used: the backward kernel stores into
   * it ({@code overwrite}) on a job's first step as on every later one.
   */
  @Test
  void aNewSumIsZeroAndSpent() {
    ExactGradientSum sum = new ExactGradientSum(shape);
    for (int t = 0; t < sum.tensorCount(); t++) {
      assertTrue(sum.isSpent(t), "tensor " + t);
    }
    assertArrayEquals(new long[sum.tensor(0).length], sum.tensor(0));
    assertFalse(sum.isSpent(0));
  }

  /**
   * A spent sum counts as zero: read, added to or drained, each tensor starts from zeros; an
   * exchange replaces a spent tensor without clearing it, and the new values are what it holds.
   */
  @Test
  void aSpentSumCountsAsZeroUntilAnExchangeReplacesIt() {
    ExactGradientSum sum = new ExactGradientSum(shape);
    for (int t = 0; t < sum.tensorCount(); t++) {
      java.util.Arrays.fill(sum.tensor(t), 7L);
    }
    sum.spend();
    assertArrayEquals(new long[sum.tensor(0).length], sum.tensor(0));
    long[] q = new long[sum.tensor(1).length];
    java.util.Arrays.fill(q, 3L);
    sum.addFixed(1, 0, q, q.length);
    assertArrayEquals(q, sum.tensor(1));
    float[] drained = new float[sum.tensor(2).length];
    sum.drainTo(2, drained);
    assertArrayEquals(new float[drained.length], drained);
    long[] replacement = new long[sum.tensor(3).length];
    java.util.Arrays.fill(replacement, 5L);
    sum.spend();
    long[] old = sum.exchange(3, replacement);
    assertEquals(replacement.length, old.length);
    assertArrayEquals(new long[] {5, 5, 5}, sum.tensor(3)); // not cleared: the exchange took the spent values' place
    sum.spend();
    ExactGradientSum other = new ExactGradientSum(shape);
    other.addFixed(0, 0, new long[] {1, 2}, 2);
    sum.addAll(other);
    assertEquals(1L, sum.tensor(0)[0]);
    assertEquals(2L, sum.tensor(0)[1]);
    assertEquals(0L, sum.tensor(0)[2]);
  }
}
