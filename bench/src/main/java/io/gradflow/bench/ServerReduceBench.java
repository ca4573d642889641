package io.gradflow.bench;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.optim.SgdOptimizer;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.train.SynchronousUpdate;
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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The server's work per step for a 784-256-128-10 model: decode the workers' packed fixed-point
 * pushes, add them exactly, convert the sum, apply SGD with momentum. Gradient bytes per
 * operation = {@code workers * 8 * parameters} (the fixed-point values reduced); GB/s = that /
 * (µs per op) / 1000.
 *
 * <pre>
 * java -jar bench/target/benchmarks.jar ServerReduceBench
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class ServerReduceBench {
  @Param({"2", "4"})
  public int workers;

  private Network net;
  private SynchronousUpdate update;
  private List<List<TensorChunk>> pushes;
  private long[][] staging;
  private long step;

  @Setup
  public void setUp() {
    net = Network.initialize(ModelSpec.parse("784-256-128-10", "relu", "", 1));
    update = new SynchronousUpdate(net, new SgdOptimizer(net, LearningRateSchedule.constant(0.01), 0.9, 5e-4));
    SplitMix64 rng = new SplitMix64(3);
    pushes = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      Gradients g = new Gradients(net.spec());
      for (int t = 0; t < g.tensorCount(); t++) {
        float[] v = g.tensor(t);
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) (rng.nextGaussian() * 1e-3);
        }
      }
      ExactGradientSum partial = new ExactGradientSum(net);
      g.addTo(partial);
      List<TensorChunk> chunks = new ArrayList<>();
      for (int t = 0; t < partial.tensorCount(); t++) {
        chunks.addAll(TensorChunks.ofPackedLongs(t, partial.tensor(t)));
      }
      pushes.add(chunks);
    }
    staging = new long[net.tensorCount()][];
    for (int t = 0; t < staging.length; t++) {
      staging[t] = new long[net.tensor(t).length];
    }
  }

  /** Decode every push into staging, add it to the step's sum, then one optimizer update. */
  @Benchmark
  public float reduceAndUpdate() {
    ExactGradientSum sum = update.sum();
    for (List<TensorChunk> push : pushes) {
      for (TensorChunk c : push) {
        TensorChunks.readPackedLongs(c, staging[c.getTensor()], (int) c.getOffset());
      }
      for (int t = 0; t < staging.length; t++) {
        sum.addFixed(t, 0, staging[t], staging[t].length);
      }
    }
    return update.apply(net, step++);
  }
}
