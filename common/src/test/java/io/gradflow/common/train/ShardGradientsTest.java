package io.gradflow.common.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.data.Dataset;
import io.gradflow.common.data.SamplingPlan;
import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Backprop;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.reduce.ExactGradientSum;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link ShardGradients} against its definition: every micro-shard on its own through {@link
 * Backprop#forwardBackward}, rounded and added by {@link Gradients#addTo}. The vector kernels
 * compute a range of micro-shards as one batch with the rounding inside the kernel; the sums and
 * the per-shard losses must be the same bits, for any range and thread count.
 */
class ShardGradientsTest {

  @Test
  void batchedRangesMatchShardByShardBitForBit() {
    check("37-23-11-5", 50, 7, 3);
    check("784-256-128-10", 128, 8, 1);
    check("20-300-7", 96, 5, 2);
  }

  @Test
  void aGradientTooLargeToRoundIsNamed() {
    ModelSpec spec = ModelSpec.parse("6-5-3", "relu", "", 1);
    Network net = Network.initialize(spec);
    Dataset data = data(6, 3, 64, new Random(3));
    for (int i = 0; i < data.inputs().length; i++) {
      data.inputs()[i] = 1e9f;
    }
    SamplingPlan plan = new SamplingPlan(data.count(), 16, 4, 1);
    try (ShardGradients shards = new ShardGradients(net, Kernels.DEFAULT, plan, data)) {
      ExactGradientSum.NonFiniteGradientException e =
          assertThrows(ExactGradientSum.NonFiniteGradientException.class,
              () -> shards.compute(net, 0, 0, 4, new ExactGradientSum(net), new double[4]));
      assertTrue(e.getMessage().startsWith("gradient layer"), e.getMessage());
    }
  }

  private static void check(String sizes, int batch, int microShards, long steps) {
    ModelSpec spec = ModelSpec.parse(sizes, "relu", "", 5);
    Network net = Network.initialize(spec);
    Random rnd = new Random(sizes.hashCode());
    Dataset data = data(spec.inputSize(), spec.outputSize(), 3 * batch + 7, rnd);
    SamplingPlan plan = new SamplingPlan(data.count(), batch, microShards, 9);
    for (long step = 0; step < steps; step++) {
      ExactGradientSum expected = new ExactGradientSum(net);
      double[] expectedLoss = new double[microShards];
      Backprop one = new Backprop(spec, Kernels.byName(Kernels.DEFAULT), plan.maxShardRows());
      Gradients g = new Gradients(spec);
      int[] labels = new int[plan.maxShardRows()];
      for (int m = 0; m < microShards; m++) {
        plan.gatherShard(data, step, m, one.inputBuffer(), labels);
        expectedLoss[m] = one.forwardBackward(net, labels, plan.shardRows(m), batch, g);
        g.addTo(expected);
      }
      for (int threads = 1; threads <= 3; threads++) {
        try (ShardGradients shards = new ShardGradients(net, Kernels.DEFAULT, threads, plan, data)) {
          // the whole step, then a worker's split into two ranges
          ExactGradientSum whole = new ExactGradientSum(net);
          double[] loss = new double[microShards];
          shards.compute(net, step, 0, microShards, whole, loss);
          assertSame(expected, whole, sizes + " step " + step + " threads " + threads);
          assertArrayEquals(expectedLoss, loss, sizes + " losses");
          ExactGradientSum split = new ExactGradientSum(net);
          shards.compute(net, step, 0, 2, split, loss);
          shards.compute(net, step, 2, microShards, split, loss);
          assertSame(expected, split, sizes + " split, threads " + threads);
          // a spent sum still holds the old values but counts as zero: the kernels store over them
          split.spend();
          shards.compute(net, step, 0, microShards, split, loss);
          assertSame(expected, split, sizes + " into a spent sum, threads " + threads);
        }
      }
    }
  }

  private static void assertSame(ExactGradientSum expected, ExactGradientSum actual, String what) {
    assertEquals(expected.tensorCount(), actual.tensorCount());
    for (int t = 0; t < expected.tensorCount(); t++) {
      assertArrayEquals(expected.tensor(t), actual.tensor(t), what + " tensor " + Network.tensorName(t));
    }
  }

  private static Dataset data(int features, int classes, int count, Random rnd) {
    float[] x = new float[count * features];
    int[] y = new int[count];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) rnd.nextGaussian();
    }
    for (int i = 0; i < count; i++) {
      y[i] = rnd.nextInt(classes);
    }
    return new Dataset("random", x, y, features, classes);
  }
}
