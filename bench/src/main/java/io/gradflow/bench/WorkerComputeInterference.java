package io.gradflow.bench;

import io.gradflow.common.data.Dataset;
import io.gradflow.common.data.SamplingPlan;
import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.reduce.FixedPoint;
import io.gradflow.common.shm.SharedPushArea;
import io.gradflow.common.train.ShardGradients;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * What the work beside a worker's compute costs it, 784-256-128-10, batch 128, all 8
 * micro-shards (a worker of a 1-worker job): one JVM, the same compiled kernels, blocks of 300
 * steps of each pattern in turn, and the compute timed alone (not the push thread's work):
 *
 * <ul>
 *   <li>{@code single}: the single process; one sum, spent by the update, which the kernels store into;
 *   <li>{@code pushThreadClears}: two sums in turn; after each step a second thread writes the sum
 *       into a push file on {@code /dev/shm} (as {@code Pushes.writeAndSend}) and clears it, and the
 *       next compute adds to the zeros;
 *   <li>{@code pushThreadSpends}: the same, but the push thread only spends the sum, and the kernels
 *       store into it (what the worker does);
 *   <li>{@code pushThreadWrites32}: as {@code pushThreadSpends}, but the push thread writes each sum
 *       narrowed to 32 bits into a file of half the size (not a gradflow encoding: what a narrower
 *       push would save the compute beside it);
 *   <li>{@code serverPasses}: {@code single}, while a second thread makes the memory passes of the
 *       server's step once per step (as a 1-worker job's server on the other core): a push's 1.9 MB
 *       of sums copied, the momentum update over the sums, velocity and weights, and the new
 *       weights copied out;
 *   <li>{@code serverPassesInPlace}: as {@code serverPasses}, but the push is checked where it lies
 *       and the update reads it there (no staging copy: 1.9 MB fewer written per step).
 * </ul>
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar io.gradflow.bench.WorkerComputeInterference --runs 3
 * </pre>
 *
 * ({@code --steps S}: steps per run, default 18,000: blocks of 300 steps, the patterns in turn.)
 *
 * Prints, per run, the median compute time of each pattern (the first fifth of the steps and the
 * first 20 of each block left out) and its ratio to {@code single}.
 */
public final class WorkerComputeInterference {
  private static final int BLOCK = 300;
  private static final int WARM = 20;
  private static final String[] PATTERNS =
      {"single", "pushThreadClears", "pushThreadSpends", "pushThreadWrites32", "serverPasses", "serverPassesInPlace"};

  private WorkerComputeInterference() {}

  public static void main(String[] args) throws Exception {
    int runs = 3;
    int steps = 60 * BLOCK;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--runs" -> runs = Integer.parseInt(args[i + 1]);
        case "--steps" -> steps = Integer.parseInt(args[i + 1]);
        default -> throw new IllegalArgumentException("unknown option " + args[i] + ": expected --runs R or --steps S");
      }
    }
    for (int run = 1; run <= runs; run++) {
      Map<String, Double> medians = run(steps);
      StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "run %d:", run));
      double base = medians.get("single");
      for (Map.Entry<String, Double> e : medians.entrySet()) {
        line.append(String.format(Locale.ROOT, "  %s %.3f ms (%.3fx)", e.getKey(), e.getValue() / 1e6, e.getValue() / base));
      }
      System.out.println(line);
    }
  }

  /** Each element of {@code sum} narrowed to 32 bits into {@code out}. */
  private static void writeNarrowed(ExactGradientSum sum, IntBuffer out) {
    IntBuffer to = out.duplicate();
    for (int t = 0; t < sum.tensorCount(); t++) {
      long[] values = sum.tensor(t);
      for (long v : values) {
        to.put((int) v);
      }
    }
  }

  /** The server's step, as memory traffic: the push copied in, the update, the weights copied out. */
  private static void serverPasses(long[] pushed, long[] staged, float[] velocity, float[] weights, float[] published) {
    System.arraycopy(pushed, 0, staged, 0, pushed.length);
    updateAndPublish(staged, velocity, weights, published);
  }

  /**
   * {@link #serverPasses} without the staging copy: the push checked where it lies, with the
   * server's check and bound for a push of all 8 micro-shards, then the update reading it there.
   */
  private static void serverPassesInPlace(long[] pushed, float[] velocity, float[] weights, float[] published) {
    if (!SharedPushArea.withinLimit(pushed, 0, pushed.length, FixedPoint.FIXED_LIMIT * 8)) {
      throw new IllegalStateException("a pushed value is outside the fixed-point limit");
    }
    updateAndPublish(pushed, velocity, weights, published);
  }

  /** The momentum update over the sums, velocity and weights, and the new weights copied out. */
  private static void updateAndPublish(long[] sums, float[] velocity, float[] weights, float[] published) {
    for (int i = 0; i < weights.length; i++) {
      velocity[i] = 0.9f * velocity[i] + sums[i] * 0x1p-40f;
      weights[i] -= 0.01f * velocity[i];
    }
    System.arraycopy(weights, 0, published, 0, weights.length);
  }

  private static Map<String, Double> run(int steps) throws Exception {
    ModelSpec spec = ModelSpec.parse("784-256-128-10", "relu", "", 1);
    Network net = Network.initialize(spec);
    int count = 8192;
    Dataset data = RandomData.uniform(count, 784, 10, 5);
    SamplingPlan plan = new SamplingPlan(count, 128, 8, 1);
    ExactGradientSum[] sums = {new ExactGradientSum(net), new ExactGradientSum(net)};
    double[] loss = new double[8];
    Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "gradflow-interference-");
    Path file = dir.resolve("push");
    Path narrowPath = dir.resolve("push32");
    int parameters = (int) spec.parameterCount();
    IntBuffer narrowFile;
    try (FileChannel ch = FileChannel.open(narrowPath, StandardOpenOption.CREATE, StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      narrowFile = ch.map(FileChannel.MapMode.READ_WRITE, 0, (long) parameters * Integer.BYTES)
          .order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
    }
    ExecutorService pushThread = Executors.newSingleThreadExecutor();
    long[] pushed = new long[parameters];
    long[] staged = new long[parameters];
    float[] weights = new float[parameters];
    float[] velocity = new float[parameters];
    float[] published = new float[parameters];
    Map<String, List<Long>> times = new LinkedHashMap<>();
    try (ShardGradients shards = new ShardGradients(net, Kernels.DEFAULT, plan, data)) {
      SharedPushArea push = SharedPushArea.create(file, net.tensorLengths(), 7);
      Future<?> pushing = CompletableFuture.completedFuture(null);
      int current = 0;
      for (int s = 0; s < steps; s++) {
        String pattern = PATTERNS[(s / BLOCK) % PATTERNS.length];
        boolean onePass = pattern.equals("single") || pattern.startsWith("serverPasses");
        if (onePass) {
          pushing.get(); // the push thread may still hold sum 0
        }
        if (pattern.equals("serverPasses")) {
          pushing = pushThread.submit(() -> serverPasses(pushed, staged, velocity, weights, published));
        } else if (pattern.equals("serverPassesInPlace")) {
          pushing = pushThread.submit(() -> serverPassesInPlace(pushed, velocity, weights, published));
        }
        ExactGradientSum sum = sums[onePass ? 0 : current];
        long start = System.nanoTime();
        shards.compute(net, s, 0, plan.microShards(), sum, loss);
        long nanos = System.nanoTime() - start;
        if (s >= steps / 5 && s % BLOCK >= WARM) {
          times.computeIfAbsent(pattern, k -> new ArrayList<>()).add(nanos);
        }
        pushing.get();
        if (onePass) {
          sum.spend(); // as the update does
        } else {
          boolean clear = pattern.equals("pushThreadClears");
          boolean narrow = pattern.equals("pushThreadWrites32");
          pushing = pushThread.submit(() -> {
            if (narrow) {
              writeNarrowed(sum, narrowFile);
            } else {
              push.write(sum);
            }
            if (clear) {
              sum.clear();
            } else {
              sum.spend();
            }
          });
          current = 1 - current;
        }
      }
      pushing.get();
    } finally {
      pushThread.shutdown();
      Files.deleteIfExists(file);
      Files.deleteIfExists(narrowPath);
      Files.deleteIfExists(dir);
    }
    Map<String, Double> medians = new LinkedHashMap<>();
    for (String p : PATTERNS) {
      long[] t = times.get(p).stream().mapToLong(Long::longValue).sorted().toArray();
      medians.put(p, (double) t[t.length / 2]);
    }
    return medians;
  }
}
