package io.gradflow.bench;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.optim.SgdOptimizer;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.train.SynchronousUpdate;
import io.gradflow.common.util.SplitMix64;
import io.gradflow.common.wire.PushCodec;
import io.gradflow.proto.PushHeader;
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
 * The server's work per step for a 784-256-128-10 model and 8 micro-shards: decode the workers'
 * pushes with {@link PushCodec}'s decoder into per-worker staging (what {@code
 * PushSession} runs per chunk), add each staged push to the step's exact sum with
 * {@link ExactGradientSum#addFixed} (its commit), convert the sum and apply SGD with momentum.
 * {@code FLOAT32} pushes carry one micro-shard each (so one push per micro-shard), {@code
 * PACKED64} and {@code BF16} the sum of a worker's micro-shards. Fixed-point bytes reduced per
 * operation = {@code pushes * 8 * parameters}; GB/s = that / (µs per op) / 1000.
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
  private static final int MICRO_SHARDS = 8;

  @Param({"2", "4"})
  public int workers;

  @Param({"PACKED64", "FLOAT32", "BF16"})
  public String encoding;

  private Network net;
  private SynchronousUpdate update;
  private List<List<TensorChunk>> pushes;
  private PushCodec.Decoder decoder;
  private long[][] staging;
  private long step;

  @Setup
  public void setUp() {
    net = Network.initialize(ModelSpec.parse("784-256-128-10", "relu", "", 1));
    update = new SynchronousUpdate(net, new SgdOptimizer(net, LearningRateSchedule.constant(0.01), 0.9, 5e-4));
    PushHeader.Encoding e = PushHeader.Encoding.valueOf(encoding);
    int shardsPerPush = e == PushHeader.Encoding.FLOAT32 ? 1 : MICRO_SHARDS / workers;
    SplitMix64 rng = new SplitMix64(3);
    pushes = new ArrayList<>();
    for (int p = 0; p < MICRO_SHARDS / shardsPerPush; p++) {
      Gradients g = new Gradients(net.spec());
      for (int t = 0; t < g.tensorCount(); t++) {
        float[] v = g.tensor(t);
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) (rng.nextGaussian() * 1e-3 * shardsPerPush);
        }
      }
      ExactGradientSum partial = new ExactGradientSum(net);
      g.addTo(partial);
      pushes.add(PushCodec.encode(e, partial, g));
    }
    int[] lengths = new int[net.tensorCount()];
    String[] names = new String[net.tensorCount()];
    staging = new long[net.tensorCount()][];
    for (int t = 0; t < staging.length; t++) {
      lengths[t] = net.tensor(t).length;
      names[t] = Network.tensorName(t);
      staging[t] = new long[lengths[t]];
    }
    decoder = PushCodec.decoder(e, shardsPerPush, lengths, names);
  }

  /** Decode every push into staging, add it to the step's sum, then one optimizer update. */
  @Benchmark
  public float reduceAndUpdate() {
    ExactGradientSum sum = update.sum();
    for (List<TensorChunk> push : pushes) {
      for (TensorChunk c : push) {
        decoder.decode(c, staging);
      }
      for (int t = 0; t < staging.length; t++) {
        sum.addFixed(t, 0, staging[t], staging[t].length);
      }
    }
    return update.apply(net, step++);
  }
}
