package io.gradflow.cli;

import io.gradflow.common.report.Json;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * {@code gradflow bench --workers 0,1,2,4 --runs R}: the same synthetic job for each worker count,
 * run round by round (every configuration once per round, so a slow spell of the machine hits all
 * of them alike), and a table of the medians: samples/s, the ratio to the single process, the
 * per-step split, bytes on the wire and, with {@code --target-loss}, the seconds to that loss.
 *
 * @param workers the worker counts to compare, in the order given
 * @param runs how many rounds
 * @param job the bench job of a worker count
 */
record BenchSeries(List<Integer> workers, int runs, IntFunction<JobBench> job) {

  /** The fields of a run whose median the table and the JSON give, in column order. */
  private static final List<String> MEDIANS = List.of("samples_per_second", "step_ms", "compute_ms", "push_ms",
      "wait_ms", "weights_back_ms", "server_reduce_ms", "server_update_ms", "bytes_per_worker_per_step",
      "seconds_to_loss");

  int run(PrintWriter out, boolean json) throws IOException, InterruptedException {
    Map<Integer, List<Json>> results = new LinkedHashMap<>();
    for (int n : workers) {
      results.put(n, new ArrayList<>());
    }
    for (int round = 0; round < runs; round++) {
      for (int n : results.keySet()) {
        if (!json) {
          out.printf(Locale.ROOT, "run %d/%d: %s%n", round + 1, runs, label(n));
          out.flush();
        }
        results.get(n).add(job.apply(n).measure());
      }
    }
    Map<Integer, Json> byWorkers = new LinkedHashMap<>();
    results.forEach((n, runsOfN) -> byWorkers.put(n, row(n, runsOfN)));
    List<Json> rows = List.copyOf(byWorkers.values());
    Double single = byWorkers.containsKey(0) ? (Double) byWorkers.get(0).get("samples_per_second") : null;
    for (Json row : rows) {
      row.put("ratio_to_single_process", single == null ? null : (Double) row.get("samples_per_second") / single);
    }
    JobBench first = job.apply(workers.get(0));
    if (json) {
      out.println(new Json().put("model", first.spec().sizesText()).put("batch", first.batch())
          .put("steps", first.steps()).put("kernels", first.kernels()).put("runs", runs).put("configurations", rows));
    } else {
      print(out, first, rows);
    }
    return ExitCode.OK.code();
  }

  /** One configuration's medians, with every run's samples/s. */
  private static Json row(int workers, List<Json> runs) {
    Json row = new Json().put("workers", workers);
    for (String field : MEDIANS) {
      double[] values = runs.stream().map(r -> r.get(field)).filter(v -> v instanceof Double)
          .mapToDouble(v -> (Double) v).toArray();
      if (values.length > 0) {
        row.put(field, median(values));
      }
    }
    row.put("samples_per_second_runs", runs.stream().map(r -> r.get("samples_per_second")).toList());
    return row;
  }

  /** The median; the mean of the two middle values for an even count; NaN stays NaN (a run that never reached the loss). */
  static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    int n = v.length;
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }

  private static String label(int workers) {
    return workers == 0 ? "single process" : workers + " worker" + (workers == 1 ? "" : "s");
  }

  private void print(PrintWriter out, JobBench first, List<Json> rows) {
    out.printf(Locale.ROOT, "bench %s batch %d, kernels %s, %d steps, medians of %d run(s)%n",
        first.spec().sizesText(), first.batch(), first.kernels(), first.steps(), runs);
    out.printf(Locale.ROOT, "%-15s %10s %7s %8s %8s %8s %8s %8s %8s %8s %12s%s%n", "", "samples/s", "x 1-proc",
        "step ms", "compute", "push", "wait", "w. back", "reduce", "update", "wire B/step",
        Double.isNaN(first.targetLoss()) ? "" : String.format(Locale.ROOT, " %10s", "s to " + first.targetLoss()));
    for (Json r : rows) {
      out.printf(Locale.ROOT, "%-15s %,10.0f %7s %8.3f %8s %8s %8s %8s %8s %8s %12s%s%n", label((int) r.get("workers")),
          (double) r.get("samples_per_second"),
          r.get("ratio_to_single_process") == null ? "-" : String.format(Locale.ROOT, "%.2fx", (double) r.get("ratio_to_single_process")),
          (double) r.get("step_ms"), ms(r, "compute_ms"), ms(r, "push_ms"), ms(r, "wait_ms"), ms(r, "weights_back_ms"),
          ms(r, "server_reduce_ms"), ms(r, "server_update_ms"),
          r.get("bytes_per_worker_per_step") == null ? "-" : String.format(Locale.ROOT, "%,.0f", (double) r.get("bytes_per_worker_per_step")),
          Double.isNaN(first.targetLoss()) ? "" : String.format(Locale.ROOT, " %10.2f", (double) r.get("seconds_to_loss")));
    }
  }

  private static String ms(Json row, String field) {
    return row.get(field) == null ? "-" : String.format(Locale.ROOT, "%.3f", (double) row.get(field));
  }
}
