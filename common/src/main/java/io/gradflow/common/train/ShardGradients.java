package io.gradflow.common.train;

import io.gradflow.common.data.Dataset;
import io.gradflow.common.data.SamplingPlan;
import io.gradflow.common.kernels.DenseKernels;
import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Backprop;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.reduce.ExactGradientSum;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Computes the gradients of a range of micro-shards of one step and adds them, exactly, to an
 * {@link ExactGradientSum}. The single-process trainer runs it over all micro-shards; a worker
 * over the range it owns. Because each micro-shard's float gradient depends only on its rows and
 * the exact sum does not depend on grouping or order, both give the same bits.
 *
 * <p>With {@code threads > 1} the range is cut into contiguous parts computed in parallel, each
 * into its own exact sum, and the parts are added: the same bits again, whatever the thread
 * count. Each thread has its own kernels and buffers (kernels keep per-shape scratch space).
 */
public final class ShardGradients implements AutoCloseable {
  private final SamplingPlan plan;
  private final Dataset data;
  private final Lane[] lanes;
  private final ExecutorService pool;

  /**
   * One thread's buffers: backprop, the float gradient of its last micro-shard, labels, a sum, and
   * the first rows of the micro-shards of its range.
   */
  private static final class Lane {
    final Backprop backprop;
    final Gradients shardGrads;
    final int[] labels;
    final ExactGradientSum partial;
    final int[] starts;

    Lane(Network shape, DenseKernels kernels, int rows, int microShards) {
      backprop = new Backprop(shape.spec(), kernels, rows);
      shardGrads = new Gradients(shape.spec());
      labels = new int[rows];
      partial = new ExactGradientSum(shape);
      starts = new int[microShards + 1];
    }
  }

  /** Whether ranges of several micro-shards run as one batch ({@link #computeBatched}). */
  private final boolean batched;

  public ShardGradients(Network shape, String kernels, SamplingPlan plan, Dataset data) {
    this(shape, kernels, 1, plan, data);
  }

  public ShardGradients(Network shape, String kernels, int threads, SamplingPlan plan, Dataset data) {
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
    if (threads < 1) {
      throw new IllegalArgumentException("--threads must be at least 1, got " + threads);
    }
    this.plan = plan;
    this.data = data;
    int n = Math.min(threads, plan.microShards());
    this.lanes = new Lane[n];
    this.batched = Kernels.byName(kernels).segmentsFixed();
    // A lane computes at most ceil(M / n) micro-shards: as one batch, or one at a time.
    int shardsPerLane = (plan.microShards() + n - 1) / n;
    int rows = batched ? Math.min(plan.batch(), shardsPerLane * plan.maxShardRows()) : plan.maxShardRows();
    for (int i = 0; i < n; i++) {
      lanes[i] = new Lane(shape, Kernels.byName(kernels), rows, plan.microShards());
    }
    this.pool = n == 1 ? null : Executors.newFixedThreadPool(n - 1, r -> {
      Thread t = new Thread(r, "gradflow-shards");
      t.setDaemon(true);
      return t;
    });
  }

  public SamplingPlan plan() {
    return plan;
  }

  /**
   * Forward + backward on micro-shards {@code [first, end)} of {@code step}; adds each shard's
   * gradient into {@code sum} and writes its summed cross-entropy into {@code shardLoss[m]}.
   */
  public void compute(Network net, long step, int first, int end, ExactGradientSum sum, double[] shardLoss) {
    int parts = Math.min(lanes.length, end - first);
    if (parts <= 1) {
      if (batched && end - first > 1) {
        computeBatched(lanes[0], net, step, first, end, sum, shardLoss);
        return;
      }
      for (int m = first; m < end; m++) {
        computeShard(lanes[0], net, step, m, shardLoss);
        lanes[0].shardGrads.addTo(sum);
      }
      return;
    }
    plan.permutation(plan.epochOf(step)); // fill the plan's cache here, before the threads read it
    List<Future<?>> running = new ArrayList<>();
    for (int p = 1; p < parts; p++) {
      int a = first + (int) ((long) p * (end - first) / parts);
      int b = first + (int) ((long) (p + 1) * (end - first) / parts);
      Lane lane = lanes[p];
      running.add(pool.submit(() -> computeRange(lane, net, step, a, b, shardLoss)));
    }
    computeRange(lanes[0], net, step, first, first + (end - first) / parts, shardLoss);
    try {
      for (Future<?> f : running) {
        f.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while computing micro-shards", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new IllegalStateException(e.getCause());
    }
    for (int p = 0; p < parts; p++) {
      sum.addAll(lanes[p].partial);
    }
  }

  private void computeRange(Lane lane, Network net, long step, int a, int b, double[] shardLoss) {
    lane.partial.spend(); // counts as zero: the batched kernel stores into it without a clearing pass
    if (batched) {
      computeBatched(lane, net, step, a, b, lane.partial, shardLoss);
      return;
    }
    for (int m = a; m < b; m++) {
      computeShard(lane, net, step, m, shardLoss);
      lane.shardGrads.addTo(lane.partial);
    }
  }

  /**
   * Micro-shards {@code [a, b)} as one batch: forward and backward over all their rows at once,
   * each shard's weight and bias gradients rounded to fixed point inside the kernel (the same bits
   * as {@link #computeShard} then {@link Gradients#addTo}, with large products and no
   * separate pass over the sums). When a gradient element cannot be rounded, the shards are
   * computed again one by one, which names the element in the exception.
   */
  private void computeBatched(
      Lane lane, Network net, long step, int a, int b, ExactGradientSum sum, double[] shardLoss) {
    int base = plan.shardStart(a);
    for (int m = a; m <= b; m++) {
      lane.starts[m - a] = plan.shardStart(m) - base;
    }
    plan.gatherShards(data, step, a, b, lane.backprop.inputBuffer(), lane.labels);
    if (lane.backprop.forwardBackwardFixed(
        net, lane.labels, lane.starts, b - a, plan.batch(), sum, shardLoss, a)) {
      return;
    }
    ExactGradientSum probe = new ExactGradientSum(net);
    for (int m = a; m < b; m++) {
      computeShard(lane, net, step, m, shardLoss);
      lane.shardGrads.addTo(probe); // throws for the first element that cannot be rounded
    }
    throw new IllegalStateException(
        "micro-shards " + a + ".." + (b - 1) + " of step " + step
            + ": the fixed-point kernel refused a gradient that the float path accepts");
  }

  /** Forward + backward on micro-shard {@code m}, its summed cross-entropy into {@code shardLoss[m]}. */
  private void computeShard(Lane lane, Network net, long step, int m, double[] shardLoss) {
    int rows = plan.shardRows(m);
    plan.gatherShard(data, step, m, lane.backprop.inputBuffer(), lane.labels);
    shardLoss[m] = lane.backprop.forwardBackward(net, lane.labels, rows, plan.batch(), lane.shardGrads);
  }

  /** The float gradient of the micro-shard computed last when a single thread computed it. */
  public Gradients lastShard() {
    return lanes[0].shardGrads;
  }

  @Override
  public void close() {
    if (pool != null) {
      pool.shutdownNow();
    }
  }
}
