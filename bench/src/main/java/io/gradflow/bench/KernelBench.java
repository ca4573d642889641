package io.gradflow.bench;

import io.gradflow.common.kernels.DenseKernels;
import io.gradflow.common.kernels.Kernels;
import java.util.Random;
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
 * The three dense-layer products for one layer of {@code 784-256-128-10} at one batch size, per
 * kernel implementation. Each call does {@code 2 * batch * in * out} floating-point operations:
 * GFLOP/s = that / (µs per op) / 1000. {@link KernelGflops} runs this and prints GFLOP/s.
 *
 * <pre>
 * java -jar bench/target/benchmarks.jar KernelBench -p batch=128
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class KernelBench {
  /** {@code in x out} of the layer. */
  @Param({"784x256", "256x128", "128x10"})
  public String layer;

  @Param({"128"})
  public int batch;

  @Param({"ejml", "vector-512"})
  public String kernels;

  private DenseKernels k;
  private int in;
  private int out;
  private float[] x;
  private float[] w;
  private float[] b;
  private float[] z;
  private float[] dz;
  private float[] dw;
  private float[] dx;

  @Setup
  public void setUp() {
    String[] io = layer.split("x");
    in = Integer.parseInt(io[0]);
    out = Integer.parseInt(io[1]);
    k = Kernels.byName(kernels);
    Random rnd = new Random(1);
    x = random(rnd, batch * in);
    w = random(rnd, out * in);
    b = random(rnd, out);
    dz = random(rnd, batch * out);
    z = new float[batch * out];
    dw = new float[out * in];
    dx = new float[batch * in];
  }

  @Benchmark
  public float[] forward() {
    k.forward(x, w, b, z, batch, in, out);
    return z;
  }

  @Benchmark
  public float[] weightGradient() {
    k.weightGradient(dz, x, dw, batch, in, out);
    return dw;
  }

  @Benchmark
  public float[] inputGradient() {
    k.inputGradient(dz, w, dx, batch, in, out);
    return dx;
  }

  static float[] random(Random rnd, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) rnd.nextGaussian();
    }
    return a;
  }
}
