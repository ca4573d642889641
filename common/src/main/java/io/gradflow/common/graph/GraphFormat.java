package io.gradflow.common.graph;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The ways {@code gradflow explain} writes a scalar graph: {@link TextRenderer text}, {@link
 * DotRenderer Graphviz DOT}, {@link SvgRenderer SVG} and {@link HtmlRenderer an HTML page} around
 * the SVG. All three list the nodes in {@link
 * Scalar#topologicalOrder()} and number them by their position there, so output is deterministic.
 */
public enum GraphFormat {
  TEXT {
    @Override
    public String render(Scalar root) {
      return TextRenderer.render(root);
    }
  },
  DOT {
    @Override
    public String render(Scalar root) {
      return DotRenderer.render(root);
    }
  },
  SVG {
    @Override
    public String render(Scalar root) {
      return SvgRenderer.render(root);
    }
  },
  HTML {
    @Override
    public String render(Scalar root) {
      return HtmlRenderer.render(root);
    }
  };

  /** The graph of {@code root} (after its {@link Scalar#backward()}, to show gradients). */
  public abstract String render(Scalar root);

  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses {@code text|dot|svg|html} (case-insensitive). */
  public static GraphFormat parse(String text) {
    for (GraphFormat f : values()) {
      if (f.id().equalsIgnoreCase(text.trim())) {
        return f;
      }
    }
    throw new IllegalArgumentException("unknown format '" + text + "': expected text, dot, svg or html");
  }

  /**
   * A number as the renderers print it: 6 significant digits ({@code %.6g}, root locale) without
   * trailing zeros; {@code 0} for both zeros.
   */
  static String number(double v) {
    if (v == 0) {
      return "0";
    }
    String s = String.format(Locale.ROOT, "%.6g", v);
    int e = s.indexOf('e');
    String mantissa = e < 0 ? s : s.substring(0, e);
    String exponent = e < 0 ? "" : s.substring(e);
    if (mantissa.indexOf('.') >= 0) {
      mantissa = mantissa.replaceAll("0+$", "").replaceAll("\\.$", "");
    }
    return mantissa + exponent;
  }

  /** What a node shows as its op: the op, or {@code leaf}. */
  static String opName(Scalar n) {
    return n.isLeaf() ? "leaf" : n.op();
  }

  /** Position of every node in {@code order}, by identity. */
  static Map<Scalar, Integer> indexOf(List<Scalar> order) {
    Map<Scalar, Integer> index = new IdentityHashMap<>();
    for (int i = 0; i < order.size(); i++) {
      index.put(order.get(i), i);
    }
    return index;
  }

  /** {@code [from, to]} pairs of node indices: one edge per op input, input to output. */
  static List<int[]> edges(List<Scalar> order) {
    Map<Scalar, Integer> index = indexOf(order);
    List<int[]> edges = new ArrayList<>();
    for (int i = 0; i < order.size(); i++) {
      for (Scalar c : order.get(i).children()) {
        edges.add(new int[] {index.get(c), i});
      }
    }
    return edges;
  }
}
