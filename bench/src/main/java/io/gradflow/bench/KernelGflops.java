package io.gradflow.bench;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs {@link KernelBench} and prints GFLOP/s per product, layer and kernel, with the speed-up over
 * EJML. Takes JMH's command-line options ({@code -p batch=16,128}, {@code -f 3}, {@code -wi},
 * ...).
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar io.gradflow.bench.KernelGflops -p batch=128
 * </pre>
 */
public final class KernelGflops {
  private KernelGflops() {}

  public static void main(String[] args) throws RunnerException, CommandLineOptionException {
    Options cli = new CommandLineOptions(args);
    Options opts =
        new OptionsBuilder().parent(cli).include(KernelBench.class.getName() + "\\.").build();
    Collection<RunResult> results = new Runner(opts).run();
    // product, layer, batch -> kernels -> GFLOP/s (and the error of the mean, in GFLOP/s).
    Map<String, Map<String, double[]>> table = new TreeMap<>();
    for (RunResult r : results) {
      String bench = r.getParams().getBenchmark();
      String product = bench.substring(bench.lastIndexOf('.') + 1);
      String layer = r.getParams().getParam("layer");
      int batch = Integer.parseInt(r.getParams().getParam("batch"));
      String kernels = r.getParams().getParam("kernels");
      String[] io = layer.split("x");
      double flops = 2.0 * batch * Integer.parseInt(io[0]) * Integer.parseInt(io[1]);
      double us = r.getPrimaryResult().getScore();
      double err = r.getPrimaryResult().getScoreError();
      double gflops = flops / us / 1e3;
      double gErr = Double.isNaN(err) ? Double.NaN : gflops * err / us;
      table
          .computeIfAbsent(String.format(Locale.ROOT, "%-15s %-8s B=%-4d", product, layer, batch),
              key -> new TreeMap<>())
          .put(kernels, new double[] {gflops, gErr, us});
    }
    System.out.println();
    System.out.println("GFLOP/s = 2*B*in*out / time (time per call in µs in brackets)");
    for (Map.Entry<String, Map<String, double[]>> row : table.entrySet()) {
      List<String> cells = new ArrayList<>();
      for (Map.Entry<String, double[]> cell : row.getValue().entrySet()) {
        double[] v = cell.getValue();
        cells.add(String.format(Locale.ROOT, "%s %7.2f ± %.2f (%.1f µs)", cell.getKey(), v[0],
            v[1], v[2]));
      }
      double[] base = row.getValue().get("ejml");
      String speedup = "";
      if (base != null) {
        StringBuilder s = new StringBuilder();
        for (Map.Entry<String, double[]> cell : row.getValue().entrySet()) {
          if (!cell.getKey().equals("ejml")) {
            s.append(String.format(Locale.ROOT, "  %s/ejml %.1fx", cell.getKey(),
                cell.getValue()[0] / base[0]));
          }
        }
        speedup = s.toString();
      }
      System.out.println(row.getKey() + "  " + String.join("   ", cells) + speedup);
    }
  }
}
