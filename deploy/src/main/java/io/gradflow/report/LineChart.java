package io.gradflow.report;

import java.util.ArrayList;
import java.util.List;

/**
 * A line chart as inline SVG: a title, an x and a y axis with tick labels (the y axis linear or
 * log), one polyline per {@link Series} (with a dot per point when there are few), vertical marks
 * for events, and a legend on the right.
 *
 * <p>The markup is meant to be read back: the root {@code <svg class="chart">} carries {@code
 * data-chart} (its id) and {@code data-series} (the number of series); each series is a {@code
 * <g class="series">} with {@code data-label} and {@code data-points} around one {@code <polyline>}
 * whose {@code points} hold exactly those points; the axes are {@code <g class="axis x-axis">} and
 * {@code <g class="axis y-axis">} with a {@code <g class="tick">} per tick; events are {@code
 * <g class="event" data-kind=".." data-x="..">}; legend entries {@code <g class="legend-item">}.
 */
final class LineChart {
  /** A vertical mark at {@code x}: an event, with its tooltip. */
  record Mark(double x, String kind, String title) {}

  static final int WIDTH = 760;
  static final int HEIGHT = 300;
  private static final int LEFT = 64;
  private static final int RIGHT = 200;
  private static final int TOP = 30;
  private static final int BOTTOM = 42;
  /** Series with at most this many points also get a dot per point. */
  private static final int DOTS_UP_TO = 60;

  private final String id;
  private final String title;
  private final String xLabel;
  private final String yLabel;
  private final boolean logY;
  private final List<Series> series = new ArrayList<>();
  private final List<Mark> marks = new ArrayList<>();

  LineChart(String id, String title, String xLabel, String yLabel, boolean logY) {
    this.id = id;
    this.title = title;
    this.xLabel = xLabel;
    this.yLabel = yLabel;
    this.logY = logY;
  }

  LineChart add(Series s) {
    series.add(s);
    return this;
  }

  LineChart mark(Mark m) {
    marks.add(m);
    return this;
  }

  int seriesCount() {
    return series.size();
  }

  String svg() {
    Scale x = xScale();
    Scale y = yScale();
    double plotW = WIDTH - LEFT - RIGHT;
    double plotH = HEIGHT - TOP - BOTTOM;
    StringBuilder sb = new StringBuilder();
    sb.append("<svg class=\"chart\" data-chart=\"").append(Xml.escape(id)).append("\" data-series=\"")
        .append(series.size()).append("\" xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(WIDTH)
        .append("\" height=\"").append(HEIGHT).append("\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(HEIGHT)
        .append("\" font-family=\"sans-serif\" font-size=\"11\">\n");
    sb.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    sb.append("<text class=\"title\" x=\"").append(LEFT).append("\" y=\"18\" font-size=\"13\" font-weight=\"bold\">")
        .append(Xml.escape(title)).append("</text>\n");

    sb.append("<g class=\"axis x-axis\" data-label=\"").append(Xml.escape(xLabel)).append("\">\n");
    sb.append(line(LEFT, TOP + plotH, LEFT + plotW, TOP + plotH, "#333", ""));
    for (double t : x.ticks()) {
      double px = LEFT + x.fraction(t) * plotW;
      sb.append("<g class=\"tick\">").append(line(px, TOP, px, TOP + plotH, "#eee", ""))
          .append(line(px, TOP + plotH, px, TOP + plotH + 4, "#333", ""))
          .append("<text x=\"").append(Xml.coord(px)).append("\" y=\"").append(Xml.coord(TOP + plotH + 16))
          .append("\" text-anchor=\"middle\">").append(Xml.escape(x.label(t))).append("</text></g>\n");
    }
    sb.append("<text class=\"axis-label\" x=\"").append(Xml.coord(LEFT + plotW / 2)).append("\" y=\"")
        .append(HEIGHT - 6).append("\" text-anchor=\"middle\">").append(Xml.escape(xLabel)).append("</text>\n");
    sb.append("</g>\n");

    sb.append("<g class=\"axis y-axis\" data-label=\"").append(Xml.escape(yLabel)).append("\" data-scale=\"")
        .append(y.isLog() ? "log" : "linear").append("\">\n");
    sb.append(line(LEFT, TOP, LEFT, TOP + plotH, "#333", ""));
    for (double t : y.ticks()) {
      double py = TOP + (1 - y.fraction(t)) * plotH;
      sb.append("<g class=\"tick\">").append(line(LEFT, py, LEFT + plotW, py, "#eee", ""))
          .append(line(LEFT - 4, py, LEFT, py, "#333", ""))
          .append("<text x=\"").append(LEFT - 6).append("\" y=\"").append(Xml.coord(py + 4))
          .append("\" text-anchor=\"end\">").append(Xml.escape(y.label(t))).append("</text></g>\n");
    }
    sb.append("<text class=\"axis-label\" transform=\"translate(14 ").append(Xml.coord(TOP + plotH / 2))
        .append(") rotate(-90)\" text-anchor=\"middle\">").append(Xml.escape(yLabel)).append("</text>\n");
    sb.append("</g>\n");

    sb.append("<g class=\"events\">\n");
    for (Mark m : marks) {
      if (!x.holds(m.x()) || x.fraction(m.x()) < 0 || x.fraction(m.x()) > 1) {
        continue;
      }
      double px = LEFT + x.fraction(m.x()) * plotW;
      sb.append("<g class=\"event\" data-kind=\"").append(Xml.escape(m.kind())).append("\" data-x=\"")
          .append(Xml.number(m.x())).append("\"><title>").append(Xml.escape(m.title())).append("</title>")
          .append(line(px, TOP, px, TOP + plotH, Palette.eventColor(m.kind()), "4 3"))
          .append("</g>\n");
    }
    sb.append("</g>\n");

    for (Series s : series) {
      StringBuilder points = new StringBuilder();
      StringBuilder dots = new StringBuilder();
      int count = 0;
      int drawable = 0;
      for (int i = 0; i < s.x().length; i++) {
        drawable += x.holds(s.x()[i]) && y.holds(s.y()[i]) ? 1 : 0;
      }
      for (int i = 0; i < s.x().length; i++) {
        if (!x.holds(s.x()[i]) || !y.holds(s.y()[i])) {
          continue;
        }
        double px = LEFT + x.fraction(s.x()[i]) * plotW;
        double py = TOP + (1 - y.fraction(s.y()[i])) * plotH;
        points.append(count++ == 0 ? "" : " ").append(Xml.coord(px)).append(',').append(Xml.coord(py));
        if (drawable <= DOTS_UP_TO) {
          dots.append("<circle cx=\"").append(Xml.coord(px)).append("\" cy=\"").append(Xml.coord(py))
              .append("\" r=\"2.5\" fill=\"").append(s.color()).append("\"/>");
        }
      }
      sb.append("<g class=\"series\" data-label=\"").append(Xml.escape(s.label())).append("\" data-points=\"")
          .append(count).append("\"><title>").append(Xml.escape(s.label())).append("</title><polyline points=\"")
          .append(points).append("\" fill=\"none\" stroke=\"").append(s.color()).append("\" stroke-width=\"1.5\"")
          .append(s.dash().isEmpty() ? "" : " stroke-dasharray=\"" + s.dash() + "\"").append("/>")
          .append(dots).append("</g>\n");
    }

    sb.append("<g class=\"legend\">\n");
    double ly = TOP + 6;
    double lx = WIDTH - RIGHT + 14;
    for (Series s : series) {
      sb.append("<g class=\"legend-item\">").append(line(lx, ly, lx + 22, ly, s.color(), s.dash()).replace("stroke-width=\"1\"", "stroke-width=\"2\""))
          .append("<text x=\"").append(Xml.coord(lx + 28)).append("\" y=\"").append(Xml.coord(ly + 4)).append("\">")
          .append(Xml.escape(shorten(s.label()))).append("</text></g>\n");
      ly += 16;
    }
    for (String kind : markKinds()) {
      sb.append("<g class=\"legend-event\">").append(line(lx + 11, ly - 6, lx + 11, ly + 6, Palette.eventColor(kind), "4 3"))
          .append("<text x=\"").append(Xml.coord(lx + 28)).append("\" y=\"").append(Xml.coord(ly + 4)).append("\">")
          .append(Xml.escape(kind)).append("</text></g>\n");
      ly += 16;
    }
    sb.append("</g>\n</svg>\n");
    return sb.toString();
  }

  private List<String> markKinds() {
    List<String> kinds = new ArrayList<>();
    for (Mark m : marks) {
      if (!kinds.contains(m.kind())) {
        kinds.add(m.kind());
      }
    }
    return kinds;
  }

  private static String shorten(String label) {
    return label.length() <= 26 ? label : label.substring(0, 25) + "\u2026";
  }

  private Scale xScale() {
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    boolean whole = true; // steps and epochs: ticks on whole numbers
    for (Series s : series) {
      for (double v : s.x()) {
        if (Double.isFinite(v)) {
          min = Math.min(min, v);
          max = Math.max(max, v);
          whole &= v == Math.rint(v);
        }
      }
    }
    for (Mark m : marks) {
      min = Math.min(min, m.x());
      max = Math.max(max, m.x());
    }
    return Scale.linear(min, max, whole ? 1 : 0);
  }

  private Scale yScale() {
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    for (Series s : series) {
      for (double v : s.y()) {
        if (Double.isFinite(v) && (!logY || v > 0)) {
          min = Math.min(min, v);
          max = Math.max(max, v);
        }
      }
    }
    return logY ? Scale.log(min, max) : Scale.linear(min, max);
  }

  static String line(double x1, double y1, double x2, double y2, String color, String dash) {
    return "<line x1=\"" + Xml.coord(x1) + "\" y1=\"" + Xml.coord(y1) + "\" x2=\"" + Xml.coord(x2) + "\" y2=\""
        + Xml.coord(y2) + "\" stroke=\"" + color + "\" stroke-width=\"1\""
        + (dash.isEmpty() ? "" : " stroke-dasharray=\"" + dash + "\"") + "/>";
  }
}
