package io.gradflow.bench;

import io.gradflow.common.kernels.DenseKernels;
import io.gradflow.common.kernels.Kernels;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;

/**
 * A plain-Java check of the kernels' speed without JMH, for a quick look on a shared machine: it
 * times with the thread's CPU time (so other processes' load costs less), runs each product in
 * rounds of 200 ms after a warm-up and prints the median round in GFLOP/s.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar \
 *     io.gradflow.bench.QuickKernelBench [batch=128] [kernels=ejml,vector-512] [rounds=7]
 * </pre>
 */
public final class QuickKernelBench {
  private static final int[][] LAYERS = {{784, 256}, {256, 128}, {128, 10}};
  private static final String[] PRODUCTS = {"forward", "weightGradient", "inputGradient"};
  private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();

  private QuickKernelBench() {}

  public static void main(String[] args) {
    int batch = 128;
    String[] kernels = {"ejml", Kernels.VECTOR_512};
    int rounds = 7;
    for (String a : args) {
      String[] kv = a.split("=", 2);
      switch (kv[0]) {
        case "batch" -> batch = Integer.parseInt(kv[1]);
        case "kernels" -> kernels = kv[1].split(",");
        case "rounds" -> rounds = Integer.parseInt(kv[1]);
        default -> throw new IllegalArgumentException(
            "unknown argument '" + a + "': expected batch=, kernels= or rounds=");
      }
    }
    System.out.printf(Locale.ROOT, "%s, batch %d, median of %d rounds of 200 ms CPU time%n",
        Runtime.version(), batch, rounds);
    final int bt = batch;
    for (String name : kernels) {
      DenseKernels k = Kernels.byName(name);
      for (int[] layer : LAYERS) {
        int in = layer[0];
        int out = layer[1];
        Random rnd = new Random(1);
        float[] x = KernelBench.random(rnd, batch * in);
        float[] w = KernelBench.random(rnd, out * in);
        float[] b = KernelBench.random(rnd, out);
        float[] dz = KernelBench.random(rnd, batch * out);
        float[] z = new float[batch * out];
        float[] dw = new float[out * in];
        float[] dx = new float[batch * in];
        double flops = 2.0 * batch * in * out;
        for (int p = 0; p < PRODUCTS.length; p++) {
          final int product = p;
          Runnable call =
              switch (product) {
                case 0 -> () -> k.forward(x, w, b, z, bt, in, out);
                case 1 -> () -> k.weightGradient(dz, x, dw, bt, in, out);
                default -> () -> k.inputGradient(dz, w, dx, bt, in, out);
              };
          time(call, 1_000_000_000L); // warm-up: let C2 compile the kernels
          double[] ns = new double[rounds];
          for (int r = 0; r < rounds; r++) {
            ns[r] = time(call, 200_000_000L);
          }
          Arrays.sort(ns);
          double median = ns[rounds / 2];
          System.out.printf(Locale.ROOT, "%-10s %-15s %3dx%-3d  %7.2f GFLOP/s  %9.1f µs"
                  + "  (rounds %.1f..%.1f GFLOP/s)%n", k.id(), PRODUCTS[product], in, out,
              flops / median, median / 1e3, flops / ns[rounds - 1], flops / ns[0]);
        }
      }
    }
  }

  /** Calls {@code call} for at least {@code budgetNs} of this thread's CPU time; ns per call. */
  private static double time(Runnable call, long budgetNs) {
    long n = 0;
    long t0 = MX.getCurrentThreadCpuTime();
    long t;
    do {
      call.run();
      n++;
      t = MX.getCurrentThreadCpuTime();
    } while (t - t0 < budgetNs);
    return (t - t0) / (double) n;
  }
}
