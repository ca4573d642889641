package io.gradflow.bench;

import io.gradflow.common.data.Dataset;
import io.gradflow.common.data.SamplingPlan;
import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Backprop;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.train.ShardGradients;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The compute of one training step, 784-256-128-10, batch 128, 8 micro-shards: every
 * micro-shard's forward and backward and the exact fixed-point sum of their gradients, on one
 * thread. {@code perShard} is the baseline: each micro-shard through {@link
 * Backprop#forwardBackward} on its 16 rows, then rounded in a separate pass by {@link
 * Gradients#addTo}. {@code batched} is what the trainer and the workers run: {@link
 * ShardGradients}, one pass over all 128 rows with each micro-shard's gradient rounded inside the
 * kernel; {@code batchedHalf} the same for the first four micro-shards (a worker of a 2-worker
 * job). Both give the same bits ({@code ShardGradientsTest}). {@code batchedIntoCleared} is
 * {@code batched} with the sum cleared first instead of spent (the kernels add instead of store).
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -jar bench/target/benchmarks.jar StepComputeBench
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class StepComputeBench {
  @Param({"128"})
  public int batch;

  private Network net;
  private Dataset data;
  private SamplingPlan plan;
  private ShardGradients shards;
  private Backprop one;
  private Gradients g;
  private int[] labels;
  private ExactGradientSum sum;
  private double[] loss;
  private long step;

  @Setup
  public void setUp() {
    ModelSpec spec = ModelSpec.parse("784-256-128-10", "relu", "", 1);
    net = Network.initialize(spec);
    int count = 8192;
    data = RandomData.uniform(count, 784, 10, 5);
    plan = new SamplingPlan(count, batch, 8, 1);
    shards = new ShardGradients(net, Kernels.DEFAULT, plan, data);
    one = new Backprop(spec, Kernels.byName(Kernels.DEFAULT), plan.maxShardRows());
    g = new Gradients(spec);
    labels = new int[plan.maxShardRows()];
    sum = new ExactGradientSum(net);
    loss = new double[8];
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    shards.close();
  }

  @Benchmark
  public long perShard() {
    sum.clear();
    for (int m = 0; m < plan.microShards(); m++) {
      plan.gatherShard(data, step, m, one.inputBuffer(), labels);
      loss[m] = one.forwardBackward(net, labels, plan.shardRows(m), batch, g);
      g.addTo(sum);
    }
    return sum.tensor(0)[(int) (step++ % 100)];
  }

  @Benchmark
  public long batched() {
    sum.spend(); // as the trainer's update and the worker's push leave it: the kernels store into it
    shards.compute(net, step, 0, plan.microShards(), sum, loss);
    return sum.tensor(0)[(int) (step++ % 100)];
  }

  /**
   * The baseline of {@code batched}: the sum cleared in a pass of its own, and the kernels add to
   * the zeros (as the trainer and the workers did before the kernels stored into spent sums).
   */
  @Benchmark
  public long batchedIntoCleared() {
    sum.clear();
    shards.compute(net, step, 0, plan.microShards(), sum, loss);
    return sum.tensor(0)[(int) (step++ % 100)];
  }

  /** A worker of a 2-worker job: the first half of the micro-shards (64 rows in 4 micro-shards at batch 128). */
  @Benchmark
  public long batchedHalf() {
    sum.spend();
    shards.compute(net, step, 0, plan.microShards() / 2, sum, loss);
    return sum.tensor(0)[(int) (step++ % 100)];
  }
}
