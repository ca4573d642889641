package io.gradflow.common.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class DotRendererTest {
  private static final Pattern NODE =
      Pattern.compile("  n(\\d+) \\[label=\"((?:[^\"\\\\]|\\\\.)*)\"(, style=bold)?\\];");
  private static final Pattern EDGE = Pattern.compile("  n(\\d+) -> n(\\d+);");

  @Test
  void isAWellFormedDigraphWithOneNodePerScalarAndOneEdgePerInput() {
    Network net = Network.initialize(ModelSpec.parse("2-3-2", "tanh", null, 5));
    NetworkGraph graph = NetworkGraph.build(net, new float[] {0.25f, -0.75f}, 1, new int[] {1});
    graph.backward();
    String dot = DotRenderer.render(graph.loss());
    Map<Integer, String> labels = parse(dot, graph);

    assertEquals(graph.nodes().size(), labels.size());
    for (int i = 0; i < graph.nodes().size(); i++) {
      Scalar n = graph.nodes().get(i);
      String label = labels.get(i);
      assertTrue(label.contains("value " + GraphFormat.number(n.value())), label);
      assertTrue(label.contains("grad " + GraphFormat.number(n.grad())), label);
      assertTrue(label.startsWith(n.label().isEmpty() ? n.op() : n.label() + "\\n"), label);
    }
    assertTrue(labels.get(graph.nodes().size() - 1).startsWith("loss\\n*1\\n"));
  }

  @Test
  void escapesQuotesAndBackslashesInLabels() {
    Scalar a = Scalar.of(1, "say \"hi\" \\o/");
    Scalar root = a.scale(2);
    root.backward();
    String dot = DotRenderer.render(root);
    String expected = "n0 [label=\"say \\\"hi\\\" \\\\o/\\nleaf\\nvalue 1\\ngrad 2\"];";
    assertTrue(dot.contains(expected), dot);
  }

  @Test
  void isDeterministic() {
    assertEquals(
        DotRenderer.render(GraphFixtures.handPickedGraph().loss()),
        DotRenderer.render(GraphFixtures.handPickedGraph().loss()));
  }

  /**
   * A strict reader of the subset of DOT the renderer writes: header, node statements, edge
   * statements between declared nodes, closing brace. Returns node id -> label.
   */
  private static Map<Integer, String> parse(String dot, NetworkGraph graph) {
    List<String> lines = dot.lines().toList();
    assertEquals("digraph gradflow {", lines.get(0));
    assertEquals("  rankdir=LR;", lines.get(1));
    assertTrue(lines.get(2).startsWith("  node ["), lines.get(2));
    assertEquals("}", lines.get(lines.size() - 1));
    assertTrue(dot.endsWith("}\n"));
    Map<Integer, String> labels = new HashMap<>();
    List<int[]> edges = new ArrayList<>();
    for (String line : lines.subList(3, lines.size() - 1)) {
      Matcher node = NODE.matcher(line);
      Matcher edge = EDGE.matcher(line);
      if (node.matches()) {
        assertTrue(edges.isEmpty(), "nodes come before edges");
        assertEquals(null, labels.put(Integer.parseInt(node.group(1)), node.group(2)), line);
      } else if (edge.matches()) {
        int from = Integer.parseInt(edge.group(1));
        int to = Integer.parseInt(edge.group(2));
        assertTrue(labels.containsKey(from) && labels.containsKey(to), "undeclared node: " + line);
        assertTrue(from < to, "edges run from inputs to ops: " + line);
        edges.add(new int[] {from, to});
      } else {
        fail("not a DOT statement: " + line);
      }
    }
    int inputs = 0;
    for (Scalar n : graph.nodes()) {
      inputs += n.children().size();
    }
    assertEquals(inputs, edges.size());
    return labels;
  }
}
