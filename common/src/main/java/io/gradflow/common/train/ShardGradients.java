package io.gradflow.common.train;

import io.gradflow.common.data.Dataset;
import io.gradflow.common.data.SamplingPlan;
import io.gradflow.common.kernels.DenseKernels;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Backprop;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.reduce.ExactGradientSum;

/**
 * Computes the gradients of a range of micro-shards of one step and adds them, exactly, to an
 * {@link ExactGradientSum}. The single-process trainer runs it over all micro-shards; a worker
 * over the range it owns. Because each micro-shard's float gradient depends only on its rows and
 * the exact sum does not depend on grouping or order, both give the same bits.
 */
public final class ShardGradients {
  private final SamplingPlan plan;
  private final Dataset data;
  private final Backprop backprop;
  private final Gradients shardGrads;
  private final int[] labels;

  public ShardGradients(Network shape, DenseKernels kernels, SamplingPlan plan, Dataset data) {
    if (data.features() != shape.spec().inputSize()) {
      throw new IllegalArgumentException(
          "data set " + data.name() + " has " + data.features() + " features but model "
              + shape.spec().sizesText() + " expects " + shape.spec().inputSize());
    }
    if (data.classes() > shape.spec().outputSize()) {
      throw new IllegalArgumentException(
          "data set " + data.name() + " has " + data.classes() + " classes but model "
              + shape.spec().sizesText() + " has only " + shape.spec().outputSize() + " outputs");
    }
    this.plan = plan;
    this.data = data;
    this.backprop = new Backprop(shape.spec(), kernels, plan.maxShardRows());
    this.shardGrads = new Gradients(shape.spec());
    this.labels = new int[plan.maxShardRows()];
  }

  public SamplingPlan plan() {
    return plan;
  }

  /**
   * Forward + backward on micro-shards {@code [first, end)} of {@code step}; adds each shard's
   * gradient into {@code sum} and writes its summed cross-entropy into {@code shardLoss[m]}.
   */
  public void compute(
      Network net, long step, int first, int end, ExactGradientSum sum, double[] shardLoss) {
    for (int m = first; m < end; m++) {
      computeShard(net, step, m, shardLoss);
      sum.add(shardGrads);
    }
  }

  /**
   * Forward + backward on one micro-shard; leaves its float gradient in {@link #lastShard()} and
   * its summed cross-entropy in {@code shardLoss[m]}.
   */
  public void computeShard(Network net, long step, int m, double[] shardLoss) {
    int rows = plan.shardRows(m);
    plan.gatherShard(data, step, m, backprop.inputBuffer(), labels);
    shardLoss[m] = backprop.forwardBackward(net, labels, rows, plan.batch(), shardGrads);
  }

  /** The float gradient of the micro-shard computed last. */
  public Gradients lastShard() {
    return shardGrads;
  }
}
