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
      sb.append("<p class=\"note\">Worker parts are a worker's mean per step; the server's reduce and update happen "
          + "while the workers wait.</p>\n");
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

  /** Two bars per distributed run: the workers' parts of a step and the server's, in ms. */
  BarChart timeSplit() {
    List<RunData> timed = runs.stream().filter(r -> r.timing().isPresent()).toList();
    List<String> rows = new ArrayList<>();
    for (RunData r : timed) {
      rows.add(r.label() + " workers");
      rows.add(r.label() + " server");
    }
    BarChart chart = new BarChart("time-split", "Time per step", "ms", rows);
    chart.add(part(timed, "compute", 0, true, RunTiming::computeMs));
    chart.add(part(timed, "push", 1, true, RunTiming::pushMs));
    chart.add(part(timed, "wait", 2, true, RunTiming::waitMs));
    chart.add(part(timed, "weights back", 3, true, RunTiming::weightsBackMs));
    chart.add(part(timed, "server reduce", 4, false, RunTiming::serverReduceMs));
    chart.add(part(timed, "server update", 6, false, RunTiming::serverUpdateMs));
    return chart;
  }

  private static BarChart.Segment part(List<RunData> timed, String label, int color, boolean worker,
      ToDoubleFunction<RunTiming> value) {
    double[] values = new double[2 * timed.size()];
    for (int i = 0; i < timed.size(); i++) {
      values[2 * i + (worker ? 0 : 1)] = value.applyAsDouble(timed.get(i).timing().orElseThrow());
    }
    return new BarChart.Segment(label, Palette.color(color), values);
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
