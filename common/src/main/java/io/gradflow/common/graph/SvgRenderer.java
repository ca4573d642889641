package io.gradflow.common.graph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A scalar graph drawn as SVG by our own layered layout (no Graphviz needed), left to right:
 *
 * <ul>
 *   <li>column of an op node = its depth, {@code 1 + max(depth of its inputs)}; a leaf sits one
 *       column before the first node that uses it ({@code min(depth of users) - 1}), so weights
 *       appear next to the products they feed rather than all in column 0;
 *   <li>within a column, nodes keep their topological order, and each column is centred
 *       vertically;
 *   <li>each node is a box with its label, op, value and grad; each op input is a cubic curve with
 *       an arrow from the input's right side to the op's left side.
 * </ul>
 *
 * <p>Boxes: leaves white, ops light blue, the root light yellow. Coordinates are whole pixels, so
 * the output is deterministic.
 */
public final class SvgRenderer {
  private static final int CHAR_WIDTH = 7;
  private static final int LINE_HEIGHT = 14;
  private static final int PAD = 6;
  private static final int GAP_X = 48;
  private static final int GAP_Y = 12;
  private static final int MARGIN = 16;

  private SvgRenderer() {}

  public static String render(Scalar root) {
    List<Scalar> order = root.topologicalOrder();
    int n = order.size();
    List<int[]> edges = GraphFormat.edges(order);
    int[] column = columns(order, edges);

    List<List<String>> texts = new ArrayList<>();
    int maxChars = 0;
    for (Scalar s : order) {
      List<String> lines = new ArrayList<>();
      lines.add(s.label().isEmpty() ? GraphFormat.opName(s) : s.label());
      lines.add(s.label().isEmpty() ? "" : GraphFormat.opName(s));
      lines.add("value " + GraphFormat.number(s.value()));
      lines.add("grad " + GraphFormat.number(s.grad()));
      for (String l : lines) {
        maxChars = Math.max(maxChars, l.length());
      }
      texts.add(lines);
    }
    int boxW = maxChars * CHAR_WIDTH + 2 * PAD;
    int boxH = 4 * LINE_HEIGHT + PAD;

    int columns = 0;
    for (int c : column) {
      columns = Math.max(columns, c + 1);
    }
    int[] perColumn = new int[columns];
    int[] slot = new int[n];
    for (int i = 0; i < n; i++) {
      slot[i] = perColumn[column[i]]++;
    }
    int tallest = 0;
    for (int count : perColumn) {
      tallest = Math.max(tallest, count);
    }
    int height = 2 * MARGIN + tallest * boxH + Math.max(0, tallest - 1) * GAP_Y;
    int width = 2 * MARGIN + columns * boxW + Math.max(0, columns - 1) * GAP_X;
    int[] x = new int[n];
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      int c = column[i];
      int columnHeight = perColumn[c] * boxH + (perColumn[c] - 1) * GAP_Y;
      x[i] = MARGIN + c * (boxW + GAP_X);
      y[i] = (height - columnHeight) / 2 + slot[i] * (boxH + GAP_Y);
    }

    StringBuilder sb = new StringBuilder();
    sb.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    sb.append(
        String.format(
            Locale.ROOT,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " viewBox=\"0 0 %d %d\" font-family=\"monospace\" font-size=\"11\">\n",
            width,
            height,
            width,
            height));
    sb.append("  <defs>\n");
    sb.append(
        "    <marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"6\""
            + " markerHeight=\"6\" orient=\"auto\"><path d=\"M 0 0 L 10 5 L 0 10 z\""
            + " fill=\"#555\"/></marker>\n");
    sb.append("  </defs>\n");
    sb.append("  <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    sb.append("  <g class=\"edges\" fill=\"none\" stroke=\"#555\" stroke-width=\"1\">\n");
    for (int[] e : edges) {
      int x1 = x[e[0]] + boxW;
      int y1 = y[e[0]] + boxH / 2;
      int x2 = x[e[1]];
      int y2 = y[e[1]] + boxH / 2;
      int mid = (x1 + x2) / 2;
      sb.append(
          String.format(
              Locale.ROOT,
              "    <path d=\"M %d %d C %d %d, %d %d, %d %d\" marker-end=\"url(#arrow)\"/>\n",
              x1,
              y1,
              mid,
              y1,
              mid,
              y2,
              x2,
              y2));
    }
    sb.append("  </g>\n");
    sb.append("  <g class=\"nodes\">\n");
    for (int i = 0; i < n; i++) {
      Scalar s = order.get(i);
      String fill = s == root ? "#fff3b0" : s.isLeaf() ? "#ffffff" : "#dbeafe";
      sb.append(String.format(Locale.ROOT, "    <g id=\"n%d\">\n", i));
      sb.append(
          String.format(
              Locale.ROOT,
              "      <rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"4\" fill=\"%s\""
                  + " stroke=\"#333\"/>\n",
              x[i],
              y[i],
              boxW,
              boxH,
              fill));
      List<String> lines = texts.get(i);
      for (int k = 0; k < lines.size(); k++) {
        if (lines.get(k).isEmpty()) {
          continue;
        }
        sb.append(
            String.format(
                Locale.ROOT,
                "      <text x=\"%d\" y=\"%d\"%s>%s</text>\n",
                x[i] + PAD,
                y[i] + PAD + (k + 1) * LINE_HEIGHT - 3,
                k == 0 ? " font-weight=\"bold\"" : "",
                escape(lines.get(k))));
      }
      sb.append("    </g>\n");
    }
    sb.append("  </g>\n");
    sb.append("</svg>\n");
    return sb.toString();
  }

  /**
   * Column of every node: ops at {@code 1 + max(column of inputs)}, leaves at {@code min(column of
   * users) - 1} (0 for a graph that is a single leaf).
   */
  static int[] columns(List<Scalar> order, List<int[]> edges) {
    int n = order.size();
    int[] column = new int[n];
    for (int[] e : edges) {
      // Edges are grouped by their op, which comes after all its inputs in topological order.
      column[e[1]] = Math.max(column[e[1]], column[e[0]] + 1);
    }
    int[] firstUser = new int[n];
    Arrays.fill(firstUser, Integer.MAX_VALUE);
    for (int[] e : edges) {
      firstUser[e[0]] = Math.min(firstUser[e[0]], column[e[1]]);
    }
    for (int i = 0; i < n; i++) {
      if (order.get(i).isLeaf() && firstUser[i] != Integer.MAX_VALUE) {
        column[i] = firstUser[i] - 1;
      }
    }
    return column;
  }

  /** Escapes {@code & < > "} for XML and HTML text and attributes. */
  public static String escape(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> sb.append("&amp;");
        case '<' -> sb.append("&lt;");
        case '>' -> sb.append("&gt;");
        case '"' -> sb.append("&quot;");
        default -> sb.append(c);
      }
    }
    return sb.toString();
  }
}
