package io.gradflow.bench;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.optim.SgdOptimizer;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.util.SplitMix64;
import io.gradflow.common.wire.TensorChunks;
import io.gradflow.proto.TensorChunk;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The server's update once a step's sum is complete, for a 784-256-128-10 model (235k
 * parameters) with momentum and weight decay: {@code twoPass} is the former path (the fixed-point
 * sum drained into a float gradient, then {@link SgdOptimizer#step(Network, Gradients, long)}),
 * {@code fused} the one-pass update {@link SgdOptimizer#step(Network, ExactGradientSum, Gradients,
 * long)} (vectorised under {@code --add-modules jdk.incubator.vector}). Both give the same bits
 * ({@code SgdLoopTest}). {@code lastPushAddedFirst} and {@code lastPushInThePass} compare the
 * two ways of bringing a step's last push into the update (same bits); {@code
 * lastPushInThePassSpent} is the latter without the sum's clear and the gradient's store. {@code weightsSnapshot}
 * is the new weights encoded once as the chunks every socket pull of a version gets ({@code
 * WeightSnapshots.chunksOf}), for its share next to the update. The sum is refilled from a saved copy before each update (an
 * {@code arraycopy}, the same in both).
 *
 * <pre>
 * java -jar bench/target/benchmarks.jar SgdUpdateBench
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class SgdUpdateBench {
  private Network net;
  private SgdOptimizer optimizer;
  private ExactGradientSum sum;
  private ExactGradientSum spentSum;
  private long[][] live;
  private Gradients gradient;
  private long[][] saved;
  private long step;

  @Setup
  public void setUp() {
    net = Network.initialize(ModelSpec.parse("784-256-128-10", "relu", "", 1));
    // a tiny rate keeps the weights finite however many updates JMH runs
    optimizer = new SgdOptimizer(net, LearningRateSchedule.constant(1e-9), 0.9, 5e-4);
    sum = new ExactGradientSum(net);
    spentSum = new ExactGradientSum(net);
    gradient = new Gradients(net.spec());
    SplitMix64 rng = new SplitMix64(3);
    saved = new long[sum.tensorCount()][];
    for (int t = 0; t < saved.length; t++) {
      saved[t] = new long[sum.tensor(t).length];
      for (int i = 0; i < saved[t].length; i++) {
        saved[t][i] = (long) (rng.nextGaussian() * 0x1.0p30);
      }
    }
    live = new long[saved.length][];
    for (int t = 0; t < saved.length; t++) {
      live[t] = saved[t].clone();
    }
  }

  private void refill() {
    for (int t = 0; t < saved.length; t++) {
      System.arraycopy(saved[t], 0, sum.tensor(t), 0, saved[t].length);
    }
  }

  @Benchmark
  public float twoPass() {
    refill();
    gradient.drainFrom(sum);
    return optimizer.step(net, gradient, step++);
  }

  @Benchmark
  public float fused() {
    refill();
    return optimizer.step(net, sum, gradient, step++);
  }

  /** A step's last push added into the sum in a pass of its own, then the update (the server before the push was left to the update). */
  @Benchmark
  public float lastPushAddedFirst() {
    refill();
    for (int t = 0; t < saved.length; t++) {
      sum.addFixed(t, 0, saved[t], saved[t].length);
    }
    return optimizer.step(net, sum, gradient, step++);
  }

  /** The same sum and update with the last push read by the update's own pass ({@code SgdLoop}'s second sum). */
  @Benchmark
  public float lastPushInThePass() {
    refill();
    return optimizer.step(net, sum, saved, gradient, step++, null, null);
  }

  /**
   * The server's update today: the last push read in the pass, the sum spent instead of cleared
   * (not written), and the gradient not stored (a step nobody reads it on). The sum is refilled
   * by the same copy as the others and put in place by an exchange (no pass).
   */
  @Benchmark
  public float lastPushInThePassSpent() {
    for (int t = 0; t < saved.length; t++) {
      System.arraycopy(saved[t], 0, live[t], 0, saved[t].length);
      spentSum.exchange(t, live[t]);
    }
    return optimizer.stepAndSpend(net, spentSum, saved, null, step++);
  }

  @Benchmark
  public List<TensorChunk> weightsSnapshot() {
    List<TensorChunk> chunks = new ArrayList<>();
    for (int t = 0; t < net.tensorCount(); t++) {
      chunks.addAll(TensorChunks.ofFloats(t, net.tensor(t)));
    }
    return chunks;
  }
}
