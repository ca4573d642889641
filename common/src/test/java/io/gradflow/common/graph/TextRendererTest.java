package io.gradflow.common.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class TextRendererTest {

  @Test
  void oneLinePerNodeInTopologicalOrderWithHeader() {
    NetworkGraph graph = GraphFixtures.handPickedGraph();
    List<String> lines = TextRenderer.render(graph.loss()).lines().toList();
    assertEquals(graph.nodes().size() + 1, lines.size());
    assertEquals(List.of("id", "op", "label", "value", "grad", "inputs"), columns(lines.get(0)));
    for (int i = 0; i < graph.nodes().size(); i++) {
      assertEquals(Integer.toString(i), columns(lines.get(i + 1)).get(0));
    }
    assertTrue(lines.get(lines.size() - 1).contains("loss"));
  }

  @Test
  void showsTheHandComputedForwardValuesAndGradients() {
    String text = TextRenderer.render(GraphFixtures.handPickedGraph().loss());
    // label -> (value, grad)
    assertRow(text, "loss", "*1", GraphFixtures.LOSS, 1);
    assertRow(text, "x[0,1]", "leaf", 2, Double.NaN);
    assertRow(text, "a1[0,0]", "sigmoid", GraphFixtures.A0, Double.NaN);
    assertRow(text, "a1[0,1]", "sigmoid", GraphFixtures.A1, GraphFixtures.DA1);
    assertRow(text, "z1[0,0]", "+", GraphFixtures.L0, GraphFixtures.P0 - 1);
    assertRow(text, "z1[0,1]", "+", GraphFixtures.L1, GraphFixtures.P1);
    assertRow(text, "layer1.W[0,0]", "leaf", 1, GraphFixtures.DW1_00);
    assertRow(text, "layer0.b[1]", "leaf", 0.1f, GraphFixtures.DB0_1);
    assertRow(text, "layer0.W[1,1]", "leaf", 1, GraphFixtures.DW0_11);
  }

  @Test
  void listsTheInputsOfEachOpByNumber() {
    Scalar a = Scalar.of(2, "a");
    Scalar b = Scalar.of(-3, "b");
    Scalar c = a.mul(b).withLabel("c");
    c.backward();
    String expected =
        "id  op    label  value  grad  inputs\n"
            + " 0  leaf  a          2    -3\n"
            + " 1  leaf  b         -3     2\n"
            + " 2  *     c         -6     1  0,1\n";
    assertEquals(expected, TextRenderer.render(c));
  }

  @Test
  void isDeterministic() {
    assertEquals(
        TextRenderer.render(GraphFixtures.handPickedGraph().loss()),
        TextRenderer.render(GraphFixtures.handPickedGraph().loss()));
  }

  private static void assertRow(String text, String label, String op, double value, double grad) {
    List<String> row =
        text.lines()
            .map(TextRendererTest::columns)
            .filter(c -> c.size() >= 5 && c.get(2).equals(label))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no line for " + label + " in\n" + text));
    assertEquals(op, row.get(1), label + " op");
    assertEquals(value, Double.parseDouble(row.get(3)), 1e-5 * Math.max(1, Math.abs(value)));
    if (!Double.isNaN(grad)) {
      assertEquals(grad, Double.parseDouble(row.get(4)), 1e-5 * Math.max(1e-3, Math.abs(grad)));
    }
  }

  private static List<String> columns(String line) {
    return Arrays.asList(line.trim().split("\\s+"));
  }
}
