package io.gradflow.common.graph;

import java.util.List;
import java.util.Map;

/**
 * A scalar graph as text, one line per node in topological order: its number, op, label, forward
 * value, backward gradient ({@code d root / d node}) and the numbers of its inputs.
 *
 * <pre>
 * id  op       label         value      grad       inputs
 *  0  leaf     x[0,0]        0.5        0.0312
 *  ...
 * 29  *0.5     loss          0.693147   1          28
 * </pre>
 */
public final class TextRenderer {
  private TextRenderer() {}

  public static String render(Scalar root) {
    List<Scalar> order = root.topologicalOrder();
    Map<Scalar, Integer> index = GraphFormat.indexOf(order);
    int opWidth = "op".length();
    int labelWidth = "label".length();
    int valueWidth = "value".length();
    int gradWidth = "grad".length();
    for (Scalar n : order) {
      opWidth = Math.max(opWidth, GraphFormat.opName(n).length());
      labelWidth = Math.max(labelWidth, n.label().length());
      valueWidth = Math.max(valueWidth, GraphFormat.number(n.value()).length());
      gradWidth = Math.max(gradWidth, GraphFormat.number(n.grad()).length());
    }
    int idWidth = Math.max(2, Integer.toString(order.size() - 1).length());
    String row =
        "%" + idWidth + "s  %-" + opWidth + "s  %-" + labelWidth + "s  %" + valueWidth + "s  %"
            + gradWidth + "s  %s";
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(row, "id", "op", "label", "value", "grad", "inputs").strip())
        .append('\n');
    for (int i = 0; i < order.size(); i++) {
      Scalar n = order.get(i);
      StringBuilder inputs = new StringBuilder();
      for (Scalar c : n.children()) {
        if (inputs.length() > 0) {
          inputs.append(',');
        }
        inputs.append(index.get(c));
      }
      String line =
          String.format(
              row,
              i,
              GraphFormat.opName(n),
              n.label(),
              GraphFormat.number(n.value()),
              GraphFormat.number(n.grad()),
              inputs);
      sb.append(line.stripTrailing()).append('\n');
    }
    return sb.toString();
  }
}
