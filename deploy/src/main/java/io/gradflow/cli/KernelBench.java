package io.gradflow.cli;

import io.gradflow.common.kernels.DenseKernels;
import io.gradflow.common.kernels.EjmlKernels;
import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.kernels.VectorKernels;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.report.Json;
import io.gradflow.common.util.SplitMix64;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * {@code gradflow bench --kernels}: each dense-layer product of a model ({@code X W^T + b}, {@code
 * dZ^T X}, {@code dZ W}) timed with the chosen kernels against EJML, on the same shapes in the same
 * run.
 */
final class KernelBench {
  private final int batch;
  private final int repeats;
  private final String kernels;

  /**
   * @param repeats timed repetitions per product; the median is reported
   * @param kernels the implementation to measure, as named on the command line
   */
  KernelBench(int batch, int repeats, String kernels) {
    this.batch = batch;
    this.repeats = repeats;
    this.kernels = kernels;
  }

  /** One product of one layer: its name and how to run it once. */
  private record Product(String name, long flops, Runnable run) {}

  /** Times every product of every layer of {@code s} and prints the table, as text or JSON. */
  int run(ModelSpec s, PrintWriter out, boolean json) {
    DenseKernels fast = Kernels.byName(kernels);
    DenseKernels ejml = new EjmlKernels();
    SplitMix64 rng = new SplitMix64(7);
    List<Json> rows = new ArrayList<>();
    if (!json) {
      out.printf(Locale.ROOT, "kernels %s%s vs ejml, batch %d, median of %d%n", fast.id(),
          vectorBits(fast) > 0 ? " (" + vectorBits(fast) + "-bit vectors)" : "", batch, repeats);
      out.printf(Locale.ROOT, "%-8s %-16s %-14s %12s %12s %8s%n", "layer", "product", "shape", fast.id() + " GF/s", "ejml GF/s", "ratio");
    }
    List<LayerArrays> layers = new ArrayList<>();
    for (int l = 0; l < s.layerCount(); l++) {
      layers.add(new LayerArrays(s.fanIn(l), s.fanOut(l), rng));
    }
    warmUp(fast, layers);
    double fastTotal = 0;
    double ejmlTotal = 0;
    for (int l = 0; l < s.layerCount(); l++) {
      LayerArrays a = layers.get(l);
      int in = a.in;
      int outSize = a.out;
      long flops = 2L * batch * in * outSize;
      for (String product : List.of("X W^T + b", "dZ^T X", "dZ W")) {
        double[] seconds = new double[2];
        int k = 0;
        for (DenseKernels kernels : List.of(fast, ejml)) {
          Runnable run = switch (product) {
            case "X W^T + b" -> a.forward(kernels);
            case "dZ^T X" -> a.weightGradient(kernels);
            default -> a.inputGradient(kernels);
          };
          seconds[k++] = medianSeconds(run, flops);
        }
        double fastGf = flops / seconds[0] / 1e9;
        double ejmlGf = flops / seconds[1] / 1e9;
        fastTotal += seconds[0];
        ejmlTotal += seconds[1];
        rows.add(new Json().put("layer", l).put("product", product).put("batch", batch).put("in", in).put("out", outSize)
            .put(fast.id() + "_gflops", fastGf).put("ejml_gflops", ejmlGf).put("ratio", fastGf / ejmlGf));
        if (!json) {
          out.printf(Locale.ROOT, "%-8s %-16s %-14s %12.1f %12.1f %7.1fx%n", "layer" + l, product,
              batch + "x" + in + "x" + outSize, fastGf, ejmlGf, fastGf / ejmlGf);
        }
      }
    }
    if (json) {
      out.println(new Json().put("kernels", fast.id()).put("vector_bits", vectorBits(fast))
          .put("batch", batch).put("model", s.sizesText())
          .put("rows", rows).put("overall_ratio", ejmlTotal / fastTotal));
    } else {
      out.printf(Locale.ROOT, "all products of a step: %.1fx faster than ejml%n", ejmlTotal / fastTotal);
    }
    return ExitCode.OK.code();
  }

  /**
   * Runs every product of every layer in turn for 3 seconds before anything is timed: C2 compiles
   * the shared micro-kernels once they are hot, which on a busy machine can take longer than one
   * product's own warm-up, and the first product timed would otherwise pay for it.
   */
  private void warmUp(DenseKernels kernels, List<LayerArrays> layers) {
    List<Runnable> all = new ArrayList<>();
    for (LayerArrays a : layers) {
      all.add(a.forward(kernels));
      all.add(a.weightGradient(kernels));
      all.add(a.inputGradient(kernels));
    }
    long start = System.nanoTime();
    while (System.nanoTime() - start < 3_000_000_000L) {
      for (Runnable r : all) {
        r.run();
      }
    }
  }

  /** One layer's inputs and outputs at the benchmark's batch, random where they are read. */
  private final class LayerArrays {
    final int in;
    final int out;
    final float[] x;
    final float[] w;
    final float[] b;
    final float[] z;
    final float[] dz;
    final float[] dw;
    final float[] dx;

    LayerArrays(int in, int out, SplitMix64 rng) {
      this.in = in;
      this.out = out;
      x = random(rng, batch * in);
      w = random(rng, out * in);
      b = random(rng, out);
      z = new float[batch * out];
      dz = random(rng, batch * out);
      dw = new float[out * in];
      dx = new float[batch * in];
    }

    Runnable forward(DenseKernels k) {
      return () -> k.forward(x, w, b, z, batch, in, out);
    }

    Runnable weightGradient(DenseKernels k) {
      return () -> k.weightGradient(dz, x, dw, batch, in, out);
    }

    Runnable inputGradient(DenseKernels k) {
      return () -> k.inputGradient(dz, w, dx, batch, in, out);
    }
  }

  /** The vector width the kernels run at, in bits; 0 for kernels without vectors. */
  private static int vectorBits(DenseKernels kernels) {
    return kernels instanceof VectorKernels ? VectorKernels.BITS : 0;
  }

  /** Median seconds of one call, each timing a batch of calls long enough (~50 ms) to be stable. */
  private double medianSeconds(Runnable run, long flops) {
    int calls = 1;
    long start = System.nanoTime();
    while (System.nanoTime() - start < 1_500_000_000L) { // warm-up (C2 needs ~1 s), and find a call count
      for (int i = 0; i < calls; i++) {
        run.run();
      }
      calls = Math.min(calls * 2, 1 << 20);
    }
    int perTiming = Math.max(1, (int) (calls * 50_000_000L / Math.max(1, System.nanoTime() - start)));
    perTiming = Math.min(perTiming, 1 << 20);
    double[] samples = new double[repeats];
    for (int r = 0; r < repeats; r++) {
      long t0 = System.nanoTime();
      for (int i = 0; i < perTiming; i++) {
        run.run();
      }
      samples[r] = (System.nanoTime() - t0) / 1e9 / perTiming;
    }
    Arrays.sort(samples);
    return samples[repeats / 2];
  }

  private static float[] random(SplitMix64 rng, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (rng.nextDouble() * 2 - 1);
    }
    return v;
  }
}
