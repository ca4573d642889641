package io.gradflow.common.graph;

import java.util.ArrayList;
import java.util.List;

/**
 * A scalar graph in Graphviz DOT, laid out left to right: one box per node ({@code n<id>}, id =
 * position in topological order) labelled with label, op, value and grad, and one edge per op
 * input, from the input to the op's node. Render with {@code dot -Tsvg graph.dot}.
 */
public final class DotRenderer {
  private DotRenderer() {}

  public static String render(Scalar root) {
    List<Scalar> order = root.topologicalOrder();
    StringBuilder sb = new StringBuilder();
    sb.append("digraph gradflow {\n");
    sb.append("  rankdir=LR;\n");
    sb.append("  node [shape=box, fontname=\"monospace\", fontsize=10];\n");
    for (int i = 0; i < order.size(); i++) {
      Scalar n = order.get(i);
      List<String> lines = new ArrayList<>();
      if (!n.label().isEmpty()) {
        lines.add(n.label());
      }
      lines.add(GraphFormat.opName(n));
      lines.add("value " + GraphFormat.number(n.value()));
      lines.add("grad " + GraphFormat.number(n.grad()));
      sb.append("  n").append(i).append(" [label=\"");
      for (int k = 0; k < lines.size(); k++) {
        sb.append(k > 0 ? "\\n" : "").append(escape(lines.get(k)));
      }
      sb.append(n == root ? "\", style=bold];\n" : "\"];\n");
    }
    for (int[] e : GraphFormat.edges(order)) {
      sb.append("  n").append(e[0]).append(" -> n").append(e[1]).append(";\n");
    }
    sb.append("}\n");
    return sb.toString();
  }

  /** Escapes backslashes and quotes for a DOT string. */
  private static String escape(String s) {
    return s.replace("\\", "\\\\").replace("\"", "\\\"");
  }
}
