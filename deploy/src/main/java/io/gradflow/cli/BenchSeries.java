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
import java.util.function.BiFunction;

/**
 * {@code gradflow bench --workers 0,1,2,4 --servers 1,2 --runs R}: the same synthetic job for each
 * worker and server count, run round by round (every configuration once per round, so a slow
 * spell of the machine hits all of them alike), and a table of the medians: samples/s, the ratio
 * to the single process, the per-step split, bytes on the wire and, with {@code --target-loss},
 * the seconds to that loss. With sharded servers each row also gives every server's medians
 * ({@code server_timings}).
 *
 * @param workers the worker counts to compare, in the order given
 * @param servers the server counts to compare for each worker count (the single process runs once)
 * @param runs how many rounds
 * @param job the bench job of a worker count and a server count
 */
record BenchSeries(List<Integer> workers, List<Integer> servers, int runs, BiFunction<Integer, Integer, JobBench> job) {

  /** One configuration: a worker count and a server count. */
  record Config(int workers, int servers) {}

  /** The fields of a server's share whose median each row gives. */
  private static final List<String> SERVER_MEDIANS = List.of("bytes_in_per_step", "bytes_out_per_step", "reduce_ms", "update_ms");

  /** The fields of a run whose median the table and the JSON give, in column order. */
  private static final List<String> MEDIANS = List.of("samples_per_second", "step_ms", "compute_ms", "push_ms",
      "wait_ms", "weights_back_ms", "server_reduce_ms", "server_update_ms", "bytes_per_worker_per_step",
      "seconds_to_loss");

  int run(PrintWriter out, boolean json) throws IOException, InterruptedException {
    Map<Config, List<Json>> results = new LinkedHashMap<>();
    for (Config c : configurations()) {
      results.put(c, new ArrayList<>());
    }
    for (int round = 0; round < runs; round++) {
      for (Config c : results.keySet()) {
        if (!json) {
          out.printf(Locale.ROOT, "run %d/%d: %s%n", round + 1, runs, label(c));
          out.flush();
        }
        results.get(c).add(job.apply(c.workers(), c.servers()).measure());
      }
    }
    Map<Config, Json> byConfig = new LinkedHashMap<>();
    results.forEach((c, runsOfC) -> byConfig.put(c, row(c, runsOfC)));
    List<Json> rows = List.copyOf(byConfig.values());
    Json singleRow = byConfig.get(new Config(0, 1));
    Double single = singleRow == null ? null : (Double) singleRow.get("samples_per_second");
    for (Json row : rows) {
      row.put("ratio_to_single_process", single == null ? null : (Double) row.get("samples_per_second") / single);
    }
    JobBench first = job.apply(workers.get(0), servers.get(0));
    if (json) {
      out.println(new Json().put("model", first.spec().sizesText()).put("batch", first.batch())
          .put("steps", first.steps()).put("kernels", first.kernels()).put("runs", runs).put("configurations", rows));
    } else {
      print(out, first, rows);
    }
    return ExitCode.OK.code();
  }

  /** Each worker count with each server count, in the order given; the single process (0 workers) once, with 1 server. */
  List<Config> configurations() {
    List<Config> out = new ArrayList<>();
    for (int n : workers) {
      for (int s : n == 0 ? List.of(1) : servers) {
        Config c = new Config(n, s);
        if (!out.contains(c)) {
          out.add(c);
        }
      }
    }
    return out;
  }

  /** One configuration's medians, with every run's samples/s and, with sharded servers, each server's medians. */
  private static Json row(Config config, List<Json> runs) {
    Json row = new Json().put("workers", config.workers()).put("servers", config.servers());
    for (String field : MEDIANS) {
      double[] values = runs.stream().map(r -> r.get(field)).filter(v -> v instanceof Double)
          .mapToDouble(v -> (Double) v).toArray();
      if (values.length > 0) {
        row.put(field, median(values));
      }
    }
    row.put("samples_per_second_runs", runs.stream().map(r -> r.get("samples_per_second")).toList());
    if (runs.get(0).get("server_timings") instanceof List<?> first) {
      List<Json> perServer = new ArrayList<>();
      for (int i = 0; i < first.size(); i++) {
        Json server = new Json().put("index", ((Json) first.get(i)).get("index")).put("parameters", ((Json) first.get(i)).get("parameters"));
        for (String field : SERVER_MEDIANS) {
          int index = i;
          double[] values = runs.stream().map(r -> r.get("server_timings")).filter(v -> v instanceof List<?> l && l.size() > index)
              .mapToDouble(v -> (Double) ((Json) ((List<?>) v).get(index)).get(field)).toArray();
          server.put(field, median(values));
        }
        perServer.add(server);
      }
      row.put("server_timings", perServer);
    }
    return row;
  }

  /** The median; the mean of the two middle values for an even count; NaN stays NaN (a run that never reached the loss). */
  static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    int n = v.length;
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }

  private static String label(Config c) {
    return c.workers() == 0 ? "single process" : c.workers() + " worker" + (c.workers() == 1 ? "" : "s")
        + (c.servers() > 1 ? ", " + c.servers() + " servers" : "");
  }

  private void print(PrintWriter out, JobBench first, List<Json> rows) {
    out.printf(Locale.ROOT, "bench %s batch %d, kernels %s, %d steps, medians of %d run(s)%n",
        first.spec().sizesText(), first.batch(), first.kernels(), first.steps(), runs);
    out.printf(Locale.ROOT, "%-15s %7s %10s %7s %8s %8s %8s %8s %8s %8s %8s %12s%s%n", "", "servers", "samples/s", "x 1-proc",
        "step ms", "compute", "push", "wait", "w. back", "reduce", "update", "wire B/step",
        Double.isNaN(first.targetLoss()) ? "" : String.format(Locale.ROOT, " %10s", "s to " + first.targetLoss()));
    for (Json r : rows) {
      int n = (int) r.get("workers");
      out.printf(Locale.ROOT, "%-15s %7s %,10.0f %7s %8.3f %8s %8s %8s %8s %8s %8s %12s%s%n", label(new Config(n, 1)),
          n == 0 ? "-" : Integer.toString((int) r.get("servers")),
          (double) r.get("samples_per_second"),
          r.get("ratio_to_single_process") == null ? "-" : String.format(Locale.ROOT, "%.2fx", (double) r.get("ratio_to_single_process")),
          (double) r.get("step_ms"), ms(r, "compute_ms"), ms(r, "push_ms"), ms(r, "wait_ms"), ms(r, "weights_back_ms"),
          ms(r, "server_reduce_ms"), ms(r, "server_update_ms"),
          r.get("bytes_per_worker_per_step") == null ? "-" : String.format(Locale.ROOT, "%,.0f", (double) r.get("bytes_per_worker_per_step")),
          Double.isNaN(first.targetLoss()) ? "" : String.format(Locale.ROOT, " %10.2f", (double) r.get("seconds_to_loss")));
    }
    for (Json r : rows) {
      if (r.get("server_timings") instanceof List<?> perServer) {
        out.printf(Locale.ROOT, "%d workers, %d servers, per server (medians):%n", (int) r.get("workers"), (int) r.get("servers"));
        for (Object o : perServer) {
          Json s = (Json) o;
          out.printf(Locale.ROOT, "  server %d: %,d parameters, %,.0f B in and %,.0f B out per step, reduce %.3f ms, update %.3f ms%n",
              (int) s.get("index"), (long) s.get("parameters"), (double) s.get("bytes_in_per_step"),
              (double) s.get("bytes_out_per_step"), (double) s.get("reduce_ms"), (double) s.get("update_ms"));
        }
      }
    }
  }

  private static String ms(Json row, String field) {
    return row.get(field) == null ? "-" : String.format(Locale.ROOT, "%.3f", (double) row.get(field));
  }
}
