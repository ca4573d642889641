package io.gradflow.report;

import io.gradflow.common.report.MetricsLog;
import io.gradflow.common.report.RunSummary;
import io.gradflow.common.report.RunTiming;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * The report of one or more runs as one self-contained HTML page (inline SVG and CSS, no script,
 * nothing fetched): the runs' summaries as a table; the train loss per logged step, train and test
 * loss and test accuracy per epoch, the learning rate per step and every layer's gradient L2 norm
 * (log scale) as line charts, with the runs overlaid and membership events marked on the step
 * axis; for distributed runs the time split of a step as stacked bars and the bytes on the wire.
 */
public final class ReportPage {
  /** The ids of the line charts, in page order; {@code time-split} follows when a run has timing. */
  public static final List<String> LINE_CHARTS = List.of("loss-step", "loss-epoch", "accuracy-epoch", "lr-step", "grad-norms");

  private final List<RunData> runs;

  public ReportPage(List<RunData> runs) {
    if (runs.isEmpty()) {
      throw new IllegalArgumentException("a report needs at least one run");
    }
    this.runs = List.copyOf(runs);
  }

  public String html() {
    StringBuilder sb = new StringBuilder();
    String names = String.join(", ", runs.stream().map(RunData::label).toList());
    sb.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>gradflow report: ")
        .append(Xml.escape(names)).append("</title>\n<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
    sb.append("<h1>gradflow report</h1>\n<p class=\"runs\">").append(Xml.escape(names)).append("</p>\n");
    sb.append("<h2>Summary</h2>\n").append(summaryTable());
    sb.append("<h2>Training</h2>\n<div class=\"charts\">\n");
    for (String chart : charts()) {
      sb.append("<figure>").append(chart).append("</figure>\n");
    }
    sb.append("</div>\n");
    if (runs.stream().anyMatch(r -> r.timing().isPresent())) {
      sb.append("<h2>Where a step's time goes</h2>\n<figure>").append(timeSplit().svg()).append("</figure>\n");
      sb.append("<p class=\"note\">Worker parts are the mean per push over the workers (and per worker where they "
          + "differ by more than 10%); the server's reduce and update happen while the workers wait.</p>\n");
      sb.append("<h2>Bytes on the wire</h2>\n").append(wireTable());
    }
    sb.append(eventTable());
    sb.append("</body>\n</html>\n");
    return sb.toString();
  }

  /** The line charts' SVGs, in the order of {@link #LINE_CHARTS}. */
  List<String> charts() {
    boolean several = runs.size() > 1;
    LineChart lossStep = new LineChart("loss-step", "Train loss per logged step", "step", "loss", false);
    LineChart lossEpoch = new LineChart("loss-epoch", "Train and test loss per epoch", "epoch", "loss", false);
    LineChart accuracy = new LineChart("accuracy-epoch", "Test accuracy per epoch", "epoch", "accuracy", false);
    LineChart lr = new LineChart("lr-step", "Learning rate per step", "step", "learning rate", false);
    LineChart norms = new LineChart("grad-norms", "Gradient L2 norm per layer", "step", "||(dW, db)||2, log scale", true);
    for (int i = 0; i < runs.size(); i++) {
      RunData run = runs.get(i);
      List<MetricsLog.Step> steps = run.metrics().steps();
      List<MetricsLog.Epoch> epochs = run.metrics().epochs();
      String color = Palette.color(i);
      String prefix = several ? run.label() + " " : "";
      lossStep.add(new Series(run.label(), color, "", xs(steps, s -> s.step()), ys(steps, MetricsLog.Step::loss)));
      lossEpoch.add(new Series(prefix + "train", color, "6 3", xs(epochs, e -> e.epoch()), ys(epochs, MetricsLog.Epoch::trainLoss)));
      lossEpoch.add(new Series(prefix + "test", color, "", xs(epochs, e -> e.epoch()), ys(epochs, MetricsLog.Epoch::testLoss)));
      accuracy.add(new Series(run.label(), color, "", xs(epochs, e -> e.epoch()), ys(epochs, MetricsLog.Epoch::testAccuracy)));
      lr.add(new Series(run.label(), color, "", xs(steps, s -> s.step()), ys(steps, MetricsLog.Step::lr)));
      for (int layer = 0; layer < run.layers(); layer++) {
        int l = layer;
        norms.add(new Series(prefix + "layer " + (layer + 1), Palette.color(layer), Palette.dash(i),
            xs(steps, s -> s.step()), ys(steps, s -> s.gradNorms() != null && l < s.gradNorms().length ? s.gradNorms()[l] : Double.NaN)));
      }
      for (MetricsLog.Event e : run.metrics().events()) {
        LineChart.Mark mark = new LineChart.Mark(e.step(), e.kind(), (several ? run.label() + ": " : "") + "step " + e.step() + ": " + e.message());
        lossStep.mark(mark);
        lr.mark(mark);
        norms.mark(mark);
      }
    }
    return List.of(lossStep.svg(), lossEpoch.svg(), accuracy.svg(), lr.svg(), norms.svg());
  }

  /**
   * Per distributed run a bar of the workers' mean parts of a step, a bar per worker when the
   * workers differ ({@link #workersDiffer}), and a bar of the server's parts; in ms.
   */
  BarChart timeSplit() {
    List<String> rows = new ArrayList<>();
    List<double[]> values = new ArrayList<>(); // per row: compute, push, wait, weights back, reduce, update
    for (RunData r : runs) {
      if (r.timing().isEmpty()) {
        continue;
      }
      RunTiming t = r.timing().get();
      rows.add(r.label() + " workers");
      values.add(new double[] {t.computeMs(), t.pushMs(), t.waitMs(), t.weightsBackMs(), 0, 0});
      if (workersDiffer(t)) {
        for (RunTiming.Worker w : t.workers()) {
          rows.add(r.label() + " " + w.workerId());
          values.add(new double[] {w.computeMs(), w.pushMs(), w.waitMs(), w.weightsBackMs(), 0, 0});
        }
      }
      rows.add(r.label() + " server");
      values.add(new double[] {0, 0, 0, 0, t.serverReduceMs(), t.serverUpdateMs()});
    }
    BarChart chart = new BarChart("time-split", "Time per step", "ms", rows);
    String[] parts = {"compute", "push", "wait", "weights back", "server reduce", "server update"};
    int[] colors = {0, 1, 2, 3, 4, 6};
    for (int p = 0; p < parts.length; p++) {
      double[] column = new double[rows.size()];
      for (int row = 0; row < rows.size(); row++) {
        column[row] = values.get(row)[p];
      }
      chart.add(new BarChart.Segment(parts[p], Palette.color(colors[p]), column));
    }
    return chart;
  }

  /**
   * Whether a run's workers spent their step differently enough to show each: two or more workers
   * and, in compute or in wait, the slowest and the fastest more than 10% of the mean apart.
   */
  public static boolean workersDiffer(RunTiming t) {
    if (t.workers().size() < 2) {
      return false;
    }
    return spread(t, RunTiming.Worker::computeMs) > 0.1 || spread(t, RunTiming.Worker::waitMs) > 0.1;
  }

  private static double spread(RunTiming t, ToDoubleFunction<RunTiming.Worker> part) {
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    double sum = 0;
    for (RunTiming.Worker w : t.workers()) {
      double v = part.applyAsDouble(w);
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
    }
    double mean = sum / t.workers().size();
    return mean > 0 ? (max - min) / mean : 0;
  }

  private String summaryTable() {
    List<Function<RunSummary, String>> cells = List.of(
        s -> s.model() + " " + s.activation(),
        s -> s.dataset(),
        s -> s.workers() == 0 ? "single process" : Integer.toString(s.workers()),
        s -> s.globalBatch() + " (" + s.microShards() + " micro-shards)",
        s -> Xml.number(s.learningRate()) + " " + s.schedule(),
        s -> Xml.number(s.momentum()),
        s -> Xml.number(s.weightDecay()),
        s -> Long.toString(s.seed()),
        s -> Xml.number(s.epochs()) + " (" + s.steps() + " steps)",
        s -> Xml.number(s.testAccuracy()),
        s -> Xml.number(s.testLoss()),
        s -> Xml.number(s.trainLoss()),
        s -> String.format(java.util.Locale.ROOT, "%.1f s", s.wallSeconds()),
        s -> String.format(java.util.Locale.ROOT, "%,.0f", s.samplesPerSecond()),
        s -> s.kernels() + ", push " + s.pushPrecision(),
        s -> s.weightsSha256());
    List<String> names = List.of("model", "data set", "workers", "batch", "learning rate", "momentum", "weight decay",
        "seed", "epochs", "test accuracy", "test loss", "train loss", "wall time", "samples/s", "kernels",
        "weights_sha256");
    StringBuilder sb = new StringBuilder("<table class=\"summary\">\n<tr><th></th>");
    for (RunData r : runs) {
      sb.append("<th>").append(Xml.escape(r.label())).append("</th>");
    }
    sb.append("</tr>\n");
    for (int row = 0; row < names.size(); row++) {
      sb.append("<tr><th>").append(names.get(row)).append("</th>");
      for (RunData r : runs) {
        Optional<RunSummary> s = r.summary();
        String text = s.isPresent() ? cells.get(row).apply(s.get()) : (row == 0 ? "not finished (no summary.json)" : "");
        sb.append(row == names.size() - 1 ? "<td class=\"hash\">" : "<td>").append(Xml.escape(text)).append("</td>");
      }
      sb.append("</tr>\n");
    }
    return sb.append("</table>\n").toString();
  }

  private String wireTable() {
    StringBuilder sb = new StringBuilder("<table class=\"wire\">\n<tr><th></th><th>bytes in</th><th>bytes out</th>"
        + "<th>per worker and step</th><th>model (float32)</th><th>ratio</th></tr>\n");
    for (RunData r : runs) {
      if (r.timing().isEmpty()) {
        continue;
      }
      RunTiming t = r.timing().get();
      sb.append("<tr><th>").append(Xml.escape(r.label())).append("</th><td>").append(bytes(t.bytesIn()))
          .append("</td><td>").append(bytes(t.bytesOut())).append("</td><td>").append(bytes(t.bytesPerWorkerPerStep()))
          .append("</td><td>").append(bytes(t.parameterBytes())).append("</td><td>")
          .append(Xml.number(t.wireToParameterRatio())).append("</td></tr>\n");
    }
    return sb.append("</table>\n").toString();
  }

  private String eventTable() {
    StringBuilder rows = new StringBuilder();
    for (RunData r : runs) {
      for (MetricsLog.Event e : r.metrics().events()) {
        rows.append("<tr><td>").append(Xml.escape(r.label())).append("</td><td>").append(e.step()).append("</td><td>")
            .append(Xml.escape(e.kind())).append("</td><td>").append(Xml.escape(e.message())).append("</td></tr>\n");
      }
    }
    if (rows.length() == 0) {
      return "";
    }
    return "<h2>Events</h2>\n<table class=\"events\">\n<tr><th>run</th><th>after step</th><th>event</th><th>message</th></tr>\n"
        + rows + "</table>\n";
  }

  private static String bytes(double b) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < units.length - 1) {
      b /= 1024;
      u++;
    }
    return Xml.number(Math.round(b * 10) / 10.0) + " " + units[u];
  }

  private static <T> double[] xs(List<T> records, ToDoubleFunction<T> x) {
    return records.stream().mapToDouble(x).toArray();
  }

  private static <T> double[] ys(List<T> records, ToDoubleFunction<T> y) {
    return records.stream().mapToDouble(y).toArray();
  }

  private static final String CSS = """
      body { font-family: sans-serif; font-size: 14px; margin: 16px 24px; color: #222; }
      h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 20px 0 8px; }
      .runs, .note { color: #555; margin: 0 0 8px; }
      table { border-collapse: collapse; font-size: 13px; }
      th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
      td.hash { font-family: monospace; font-size: 11px; }
      .charts { display: flex; flex-wrap: wrap; gap: 8px; }
      figure { margin: 0; border: 1px solid #eee; }
      """;
}
