package io.gradflow.common.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class GraphFormatTest {

  @Test
  void numbersHaveSixSignificantDigitsWithoutTrailingZeros() {
    assertEquals("0", GraphFormat.number(0.0));
    assertEquals("0", GraphFormat.number(-0.0));
    assertEquals("1", GraphFormat.number(1.0));
    assertEquals("0.5", GraphFormat.number(0.5));
    assertEquals("-2.5", GraphFormat.number(-2.5));
    assertEquals("0.333333", GraphFormat.number(1.0 / 3));
    assertEquals("1.2345e-05", GraphFormat.number(1.2345e-5));
    assertEquals("1234.57", GraphFormat.number(1234.5678));
    assertEquals("1e+10", GraphFormat.number(1e10));
  }

  @Test
  void parsesFormatNamesAndRendersWithTheMatchingRenderer() {
    assertEquals(GraphFormat.SVG, GraphFormat.parse(" SVG "));
    assertEquals(GraphFormat.DOT, GraphFormat.parse("dot"));
    assertEquals("text", GraphFormat.TEXT.id());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> GraphFormat.parse("png"));
    assertTrue(e.getMessage().contains("png"));
    Scalar root = GraphFixtures.handPickedGraph().loss();
    assertEquals(TextRenderer.render(root), GraphFormat.TEXT.render(root));
    assertEquals(DotRenderer.render(root), GraphFormat.DOT.render(root));
    assertEquals(SvgRenderer.render(root), GraphFormat.SVG.render(root));
    assertEquals(HtmlRenderer.render(root), GraphFormat.HTML.render(root));
    assertEquals(GraphFormat.HTML, GraphFormat.parse("html"));
  }
}
