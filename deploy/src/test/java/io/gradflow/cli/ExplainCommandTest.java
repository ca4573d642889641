package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.cli.Jobs.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.w3c.dom.Document;

class ExplainCommandTest {
  private static Run explain(String... args) {
    List<String> all = new java.util.ArrayList<>(List.of("explain"));
    all.addAll(List.of(args));
    return Jobs.run(all);
  }

  @Test
  void textListsEveryNodeWithValueAndGradient() {
    Run r = explain();
    assertEquals(0, r.exitCode(), r.out() + r.err());
    List<String> lines = r.out().lines().toList();
    assertTrue(lines.get(0).startsWith("# 2-2-2 sigmoid, seed 1: x = ("), lines.get(0));
    assertTrue(lines.get(1).startsWith("# value = forward pass, grad = d loss / d node"));
    assertTrue(lines.get(2).startsWith("id  op"), lines.get(2));
    // 2 inputs, 12 parameters, 8 products, 4 sums, 2 sigmoids, cross-entropy, mean
    assertEquals(3 + 30, lines.size());
    String[] last = lines.get(lines.size() - 1).trim().split("\\s+");
    assertEquals(List.of("29", "*1", "loss"), List.of(last[0], last[1], last[2]));
    assertEquals("1", last[4]); // d loss / d loss
    String headerLoss = lines.get(0).replaceAll(".*loss ", "");
    assertEquals(Double.parseDouble(headerLoss), Double.parseDouble(last[3]), 1e-6);
    assertTrue(r.out().contains("sigmoid") && r.out().contains("layer1.W[1,0]"));
  }

  @Test
  void sameSeedSameOutputOtherSeedOtherOutput() {
    String a = explain("--seed", "3").out();
    assertEquals(a, explain("--seed", "3").out());
    assertNotEquals(a, explain("--seed", "4").out());
  }

  @Test
  void dotToStandardOutput() {
    Run r =
        explain("--model", "2-3-2", "--activation", "relu", "--format", "dot");
    assertEquals(0, r.exitCode(), r.err());
    assertTrue(r.out().startsWith("digraph gradflow {\n  rankdir=LR;\n"), r.out());
    assertTrue(r.out().endsWith("}\n"));
    // 2 + 17 parameters + 12 products + 5 sums + 3 relus + cross-entropy + mean = 41 nodes
    assertEquals(41, r.out().lines().filter(l -> l.matches("  n\\d+ \\[label=.*")).count());
  }

  @Test
  void svgToAFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("graph.svg");
    Run r = explain("--format", "SVG", "--output", file.toString());
    assertEquals(0, r.exitCode(), r.err());
    assertTrue(r.out().startsWith("wrote " + file + ": 30 nodes, svg, loss "), r.out());
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setNamespaceAware(true);
    Document doc = f.newDocumentBuilder().parse(file.toFile());
    assertEquals("svg", doc.getDocumentElement().getLocalName());
    int rects = doc.getElementsByTagNameNS("http://www.w3.org/2000/svg", "rect").getLength();
    assertEquals(30 + 1, rects); // one box per node and the background
    assertTrue(Files.readString(file).contains("loss"));
  }

  @Test
  void htmlIsOnePageWithTheCaptionAndTheSvgInline(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("graph.html");
    Run r = explain("--format", "html", "--output", file.toString());
    assertEquals(0, r.exitCode(), r.err());
    String page = Files.readString(file);
    assertTrue(page.startsWith("<!DOCTYPE html>"), page);
    assertTrue(page.contains("<pre>2-2-2 sigmoid, seed 1: x = ("), page);
    String svg = page.substring(page.indexOf("<svg"), page.indexOf("</svg>") + "</svg>".length());
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setNamespaceAware(true);
    Document doc = f.newDocumentBuilder().parse(new java.io.ByteArrayInputStream(svg.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    assertEquals(30 + 1, doc.getElementsByTagNameNS("http://www.w3.org/2000/svg", "rect").getLength());
    assertTrue(!page.contains("<script") && !page.contains("src="), "self-contained");
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({
    "--format, png, unknown format 'png': expected text, dot, svg or html",
    "--model, 2--2, layer size '' is not a whole number",
    "--activation, swish, unknown activation 'swish'",
    "--model, 784-10, model 784-10 has 7850 parameters: explain draws every scalar"
  })
  void badOptionValuesAreUsageErrors(String option, String value, String message) {
    Run r = explain(option, value);
    assertEquals(2, r.exitCode(), r.out() + r.err());
    assertTrue(r.err().lines().findFirst().orElse("").contains(message), r.err());
  }

  @Test
  void unwritableOutputExitsWithTheOutputCode(@TempDir Path dir) {
    Path file = dir.resolve("missing-dir").resolve("graph.svg");
    Run r = explain("--format", "svg", "--output", file.toString());
    assertEquals(ExitCode.SAVE_FAILED.code(), r.exitCode());
    assertTrue(r.err().startsWith("gradflow explain: cannot write --output " + file + ": directory "), r.err());
    assertTrue(r.err().contains("does not exist"), r.err());
  }
}
