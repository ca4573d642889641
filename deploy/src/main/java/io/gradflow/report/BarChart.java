package io.gradflow.report;

import java.util.ArrayList;
import java.util.List;

/**
 * Horizontal stacked bars as inline SVG: one bar per row (a run's workers, a run's server), split
 * into segments, one {@link Segment} series per part, with an x axis of tick labels, the rows'
 * names on the y axis and a legend.
 *
 * <p>Read back as {@link LineChart}: {@code <svg class="chart" data-chart data-series>}, a {@code
 * <g class="series" data-label data-points>} per part holding one {@code <rect>} per row, the axes
 * {@code <g class="axis x-axis">} and {@code <g class="axis y-axis">} with {@code <g class="tick">}s.
 */
final class BarChart {
  /** One part of the bars: its value on every row (0 where the row has none of it). */
  record Segment(String label, String color, double[] values) {}

  private static final int WIDTH = LineChart.WIDTH;
  private static final int LEFT = 170;
  private static final int RIGHT = 200;
  private static final int TOP = 30;
  private static final int BOTTOM = 42;
  private static final int ROW = 26;

  private final String id;
  private final String title;
  private final String xLabel;
  private final List<String> rows;
  private final List<Segment> segments = new ArrayList<>();

  BarChart(String id, String title, String xLabel, List<String> rows) {
    this.id = id;
    this.title = title;
    this.xLabel = xLabel;
    this.rows = List.copyOf(rows);
  }

  BarChart add(Segment s) {
    if (s.values().length != rows.size()) {
      throw new IllegalArgumentException(s.label() + ": " + s.values().length + " values for " + rows.size() + " rows");
    }
    segments.add(s);
    return this;
  }

  String svg() {
    double max = 0;
    for (int r = 0; r < rows.size(); r++) {
      double total = 0;
      for (Segment s : segments) {
        total += Math.max(0, s.values()[r]);
      }
      max = Math.max(max, total);
    }
    Scale x = Scale.linear(0, max > 0 ? max : 1);
    int plotH = Math.max(rows.size(), 1) * ROW + 8;
    int height = TOP + plotH + BOTTOM;
    double plotW = WIDTH - LEFT - RIGHT;
    StringBuilder sb = new StringBuilder();
    sb.append("<svg class=\"chart\" data-chart=\"").append(Xml.escape(id)).append("\" data-series=\"")
        .append(segments.size()).append("\" xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(WIDTH)
        .append("\" height=\"").append(height).append("\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(height)
        .append("\" font-family=\"sans-serif\" font-size=\"11\">\n");
    sb.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    sb.append("<text class=\"title\" x=\"").append(LEFT).append("\" y=\"18\" font-size=\"13\" font-weight=\"bold\">")
        .append(Xml.escape(title)).append("</text>\n");
    sb.append("<g class=\"axis x-axis\" data-label=\"").append(Xml.escape(xLabel)).append("\">\n");
    sb.append(LineChart.line(LEFT, TOP + plotH, LEFT + plotW, TOP + plotH, "#333", ""));
    for (double t : x.ticks()) {
      double px = LEFT + x.fraction(t) * plotW;
      sb.append("<g class=\"tick\">").append(LineChart.line(px, TOP, px, TOP + plotH, "#eee", ""))
          .append(LineChart.line(px, TOP + plotH, px, TOP + plotH + 4, "#333", ""))
          .append("<text x=\"").append(Xml.coord(px)).append("\" y=\"").append(TOP + plotH + 16)
          .append("\" text-anchor=\"middle\">").append(Xml.escape(x.label(t))).append("</text></g>\n");
    }
    sb.append("<text class=\"axis-label\" x=\"").append(Xml.coord(LEFT + plotW / 2)).append("\" y=\"")
        .append(height - 6).append("\" text-anchor=\"middle\">").append(Xml.escape(xLabel)).append("</text>\n");
    sb.append("</g>\n");
    sb.append("<g class=\"axis y-axis\" data-label=\"rows\">\n");
    sb.append(LineChart.line(LEFT, TOP, LEFT, TOP + plotH, "#333", ""));
    for (int r = 0; r < rows.size(); r++) {
      double cy = TOP + 4 + r * ROW + ROW / 2.0;
      sb.append("<g class=\"tick\">").append(LineChart.line(LEFT - 4, cy, LEFT, cy, "#333", ""))
          .append("<text x=\"").append(LEFT - 6).append("\" y=\"").append(Xml.coord(cy + 4))
          .append("\" text-anchor=\"end\">").append(Xml.escape(rows.get(r))).append("</text></g>\n");
    }
    sb.append("</g>\n");
    double[] offset = new double[rows.size()];
    for (Segment s : segments) {
      sb.append("<g class=\"series\" data-label=\"").append(Xml.escape(s.label())).append("\" data-points=\"")
          .append(rows.size()).append("\">");
      for (int r = 0; r < rows.size(); r++) {
        double v = Math.max(0, s.values()[r]);
        double x0 = LEFT + x.fraction(offset[r]) * plotW;
        double w = x.fraction(offset[r] + v) * plotW - x.fraction(offset[r]) * plotW;
        offset[r] += v;
        sb.append("<rect x=\"").append(Xml.coord(x0)).append("\" y=\"").append(TOP + 4 + r * ROW + 3)
            .append("\" width=\"").append(Xml.coord(w)).append("\" height=\"").append(ROW - 6).append("\" fill=\"")
            .append(s.color()).append("\"><title>").append(Xml.escape(rows.get(r) + " " + s.label() + ": "
                + Xml.number(s.values()[r]) + " " + xLabel)).append("</title></rect>");
      }
      sb.append("</g>\n");
    }
    sb.append("<g class=\"legend\">\n");
    double ly = TOP + 6;
    double lx = WIDTH - RIGHT + 14;
    for (Segment s : segments) {
      sb.append("<g class=\"legend-item\"><rect x=\"").append(Xml.coord(lx)).append("\" y=\"").append(Xml.coord(ly - 5))
          .append("\" width=\"22\" height=\"10\" fill=\"").append(s.color()).append("\"/><text x=\"")
          .append(Xml.coord(lx + 28)).append("\" y=\"").append(Xml.coord(ly + 4)).append("\">")
          .append(Xml.escape(s.label())).append("</text></g>\n");
      ly += 16;
    }
    sb.append("</g>\n</svg>\n");
    return sb.toString();
  }
}
