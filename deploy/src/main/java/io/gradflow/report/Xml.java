package io.gradflow.report;

import io.gradflow.common.graph.SvgRenderer;
import java.util.Locale;

/** Escaping and number formatting for the report's HTML and SVG. */
final class Xml {
  private Xml() {}

  /** Escapes {@code & < > "} for XML and HTML text and attributes (the graph renderer's escaping). */
  static String escape(String s) {
    return SvgRenderer.escape(s);
  }

  /** A coordinate: one decimal, root locale. */
  static String coord(double v) {
    return String.format(Locale.ROOT, "%.1f", v);
  }

  /**
   * A number for people: up to 4 significant digits ({@code %.4g}) without trailing zeros, plain
   * from 1e-4 to 1e6 and in e-notation outside; {@code 0} for zero, {@code -} for NaN.
   */
  static String number(double v) {
    if (Double.isNaN(v)) {
      return "-";
    }
    if (v == 0) {
      return "0";
    }
    double a = Math.abs(v);
    if (a >= 1e6 || a < 1e-4) {
      String s = String.format(Locale.ROOT, "%.3e", v);
      int e = s.indexOf('e');
      String m = s.substring(0, e).replaceAll("0+$", "").replaceAll("\\.$", "");
      int exp = Integer.parseInt(s.substring(e + 1));
      return m + "e" + exp;
    }
    if (a >= 1e4) {
      return String.format(Locale.ROOT, "%.0f", v);
    }
    String s = String.format(Locale.ROOT, "%.4g", v);
    return s.indexOf('.') < 0 ? s : s.replaceAll("0+$", "").replaceAll("\\.$", "");
  }
}
