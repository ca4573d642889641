package io.gradflow.common.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class SvgRendererTest {
  private static final String SVG_NS = "http://www.w3.org/2000/svg";

  @Test
  void isWellFormedSvgWithOneBoxPerNodeAndOneCurvePerInput() throws Exception {
    Network net = Network.initialize(ModelSpec.parse("2-3-2", "relu", null, 2));
    NetworkGraph graph = NetworkGraph.build(net, new float[] {0.5f, 0.75f}, 1, new int[] {0});
    graph.backward();
    Document doc = parse(SvgRenderer.render(graph.loss()));
    Element svg = doc.getDocumentElement();
    assertEquals("svg", svg.getLocalName());
    assertEquals(SVG_NS, svg.getNamespaceURI());

    List<Element> boxes = new ArrayList<>();
    List<Element> curves = new ArrayList<>();
    NodeList groups = svg.getElementsByTagNameNS(SVG_NS, "g");
    for (int i = 0; i < groups.getLength(); i++) {
      Element g = (Element) groups.item(i);
      if (g.getAttribute("class").equals("nodes")) {
        boxes = children(g, "rect");
      } else if (g.getAttribute("class").equals("edges")) {
        curves = children(g, "path");
      }
    }
    int n = graph.nodes().size();
    assertEquals(n, boxes.size());
    int inputs = graph.nodes().stream().mapToInt(s -> s.children().size()).sum();
    assertEquals(inputs, curves.size());

    int width = Integer.parseInt(svg.getAttribute("width"));
    int height = Integer.parseInt(svg.getAttribute("height"));
    int[][] r = new int[n][];
    for (int i = 0; i < n; i++) {
      Element b = boxes.get(i);
      r[i] =
          new int[] {
            Integer.parseInt(b.getAttribute("x")),
            Integer.parseInt(b.getAttribute("y")),
            Integer.parseInt(b.getAttribute("width")),
            Integer.parseInt(b.getAttribute("height"))
          };
      assertTrue(r[i][0] >= 0 && r[i][0] + r[i][2] <= width, "box " + i + " inside horizontally");
      assertTrue(r[i][1] >= 0 && r[i][1] + r[i][3] <= height, "box " + i + " inside vertically");
      for (int j = 0; j < i; j++) {
        boolean apart =
            r[i][0] + r[i][2] <= r[j][0]
                || r[j][0] + r[j][2] <= r[i][0]
                || r[i][1] + r[i][3] <= r[j][1]
                || r[j][1] + r[j][3] <= r[i][1];
        assertTrue(apart, "boxes " + j + " and " + i + " overlap");
      }
    }
    // Every curve runs left to right: it starts on a box's right side and ends on another's left.
    Pattern path = Pattern.compile("M (\\d+) (\\d+) C .* (\\d+) (\\d+)");
    for (Element c : curves) {
      Matcher m = path.matcher(c.getAttribute("d"));
      assertTrue(m.matches(), c.getAttribute("d"));
      assertTrue(Integer.parseInt(m.group(1)) < Integer.parseInt(m.group(3)), "left to right");
    }
  }

  @Test
  void boxesShowLabelValueAndGrad() throws Exception {
    NetworkGraph graph = GraphFixtures.handPickedGraph();
    Document doc = parse(SvgRenderer.render(graph.loss()));
    String text = nodeGroup(doc, "n" + (graph.nodes().size() - 1)).getTextContent();
    assertTrue(text.contains("loss"), text);
    assertTrue(text.contains("value " + GraphFormat.number(GraphFixtures.LOSS)), text);
    assertTrue(text.contains("grad 1"), text);
    String all = doc.getDocumentElement().getTextContent();
    assertTrue(all.contains("layer1.W[0,0]"));
    assertTrue(all.contains("grad " + GraphFormat.number(graph.parameter(2, 0).grad())));
  }

  @Test
  void leavesSitOneColumnBeforeTheirFirstUser() {
    NetworkGraph graph = GraphFixtures.handPickedGraph();
    List<Scalar> order = graph.nodes();
    int[] column = SvgRenderer.columns(order, GraphFormat.edges(order));
    int w1 = order.indexOf(graph.parameter(2, 0));
    int x0 = 
        order.indexOf(order.stream().filter(s -> s.label().equals("x[0,0]")).findFirst().get());
    int loss = order.size() - 1;
    assertEquals(0, column[x0]); // x -> product (1) -> z (2) -> sigmoid (3) -> product (4) -> ...
    assertEquals(3, column[w1]);
    assertEquals(7, column[loss]); // ... z1 (5) -> cross-entropy (6) -> mean (7)
  }

  @Test
  void escapesXmlSpecialCharacters() throws Exception {
    Scalar a = Scalar.of(1, "a<b & \"c\"");
    Scalar root = a.scale(3);
    root.backward();
    String svg = SvgRenderer.render(root);
    assertTrue(svg.contains("a&lt;b &amp; &quot;c&quot;"), svg);
    assertTrue(parse(svg).getDocumentElement().getTextContent().contains("a<b & \"c\""));
  }

  @Test
  void isDeterministic() {
    assertEquals(
        SvgRenderer.render(GraphFixtures.handPickedGraph().loss()),
        SvgRenderer.render(GraphFixtures.handPickedGraph().loss()));
  }

  private static Document parse(String svg) throws Exception {
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setNamespaceAware(true);
    DocumentBuilder b = f.newDocumentBuilder();
    return b.parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
  }

  private static List<Element> children(Element parent, String localName) {
    List<Element> out = new ArrayList<>();
    NodeList all = parent.getElementsByTagNameNS(SVG_NS, localName);
    for (int i = 0; i < all.getLength(); i++) {
      out.add((Element) all.item(i));
    }
    return out;
  }

  private static Element nodeGroup(Document doc, String id) {
    for (Element g : children(doc.getDocumentElement(), "g")) {
      if (g.getAttribute("id").equals(id)) {
        return g;
      }
    }
    throw new AssertionError("no group " + id);
  }
}
