package io.gradflow.bench;

import io.gradflow.common.kernels.SquaredNorms;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.util.SplitMix64;
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
 * The per-layer gradient norms of the metrics log ({@code grad_norms}), computed on the step's
 * thread every {@code --log-every} steps, for a 784-256-128-10 model (235k gradients): {@code
 * layerNorms} is {@link Gradients#layerNorms} ({@link SquaredNorms}: 16 partial sums in vector
 * lanes), {@code plainLoop} the loop it replaced (one chain of dependent double additions).
 *
 * <pre>
 * java -jar bench/target/benchmarks.jar GradientNormsBench
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GradientNormsBench {
  private Gradients gradient;

  @Setup
  public void setUp() {
    gradient = new Gradients(ModelSpec.parse("784-256-128-10", "relu", "he", 1));
    SplitMix64 random = new SplitMix64(42);
    for (int t = 0; t < gradient.tensorCount(); t++) {
      float[] g = gradient.tensor(t);
      for (int i = 0; i < g.length; i++) {
        g[i] = (float) ((random.nextDouble() - 0.5) * 1e-2);
      }
    }
  }

  @Benchmark
  public double[] layerNorms() {
    return gradient.layerNorms();
  }

  @Benchmark
  public double[] plainLoop() {
    double[] norms = new double[gradient.layerCount()];
    for (int l = 0; l < norms.length; l++) {
      double s = 0;
      for (float v : gradient.weights(l)) {
        s += (double) v * v;
      }
      for (float v : gradient.biases(l)) {
        s += (double) v * v;
      }
      norms[l] = Math.sqrt(s);
    }
    return norms;
  }
}
