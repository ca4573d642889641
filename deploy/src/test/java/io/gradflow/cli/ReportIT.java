package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.report.MetricsLog;
import io.gradflow.common.report.RunTiming;
import io.gradflow.report.ReportPage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * {@code gradflow report} of two real runs (a single-process sigmoid run and a 2-worker tanh run,
 * which has timing and membership events), opened in headless Chromium: the DOM Chromium built
 * holds every chart with both axes and their tick labels, a legend entry per series, and per series
 * exactly the points the runs logged; and a screenshot of the rendered page lands in target/.
 */
class ReportIT {
  private static final Path SCREENSHOT = Path.of("target", "report-it.png");

  @TempDir Path tmp;

  @Test
  void chromiumRendersEveryChartWithItsAxesSeriesAndPoints() throws Exception {
    Prerequisites.need(chromium() != null, "the Debian package chromium (headless Chromium renders the report)");
    Path sigmoid = train("sigmoid", 0, "sigmoid");
    Path tanh = train("tanh", 2, "tanh", "--report");
    assertTrue(Files.readString(tanh.resolve("report.html")).contains("data-chart=\"time-split\""), "train --report wrote its page");
    Path html = tmp.resolve("report.html");
    Jobs.Run r = Jobs.run(List.of("report", sigmoid.toString(), tanh.toString(), "--out", html.toString()));
    assertEquals(0, r.exitCode(), r.err());
    assertTrue(r.out().contains("wrote " + html + " (2 runs)"), r.out());
    String page = Files.readString(html);
    for (String outside : List.of("<script", "src=", "href=", "@import", "url(http")) {
      assertFalse(page.contains(outside), "the page is self-contained, yet has " + outside);
    }

    String dom = chromium("--dump-dom", html.toUri().toString());
    Map<String, Element> charts = charts(dom);
    List<String> expected = new ArrayList<>(ReportPage.LINE_CHARTS);
    expected.add("time-split");
    assertEquals(expected, new ArrayList<>(charts.keySet()));

    MetricsLog a = MetricsLog.read(MetricsLog.file(sigmoid));
    MetricsLog b = MetricsLog.read(MetricsLog.file(tanh));
    assertEquals(6, a.steps().size(), "60 steps logged every 10");
    assertEquals(6, b.steps().size());
    int epochs = a.epochs().size();
    assertTrue(epochs >= 2, "the runs span epochs: " + epochs);
    int layers = 3; // 2-24-24-3
    assertPoints(charts.get("loss-step"), List.of(6, 6));
    assertPoints(charts.get("loss-epoch"), List.of(epochs, epochs, epochs, epochs));
    assertPoints(charts.get("accuracy-epoch"), List.of(epochs, epochs));
    assertPoints(charts.get("lr-step"), List.of(6, 6));
    assertPoints(charts.get("grad-norms"), java.util.Collections.nCopies(2 * layers, 6));
    assertEquals("log", axis(charts.get("grad-norms"), "y-axis").getAttribute("data-scale"));
    RunTiming timing = RunTiming.read(RunTiming.file(tanh));
    assertEquals(2, timing.workers().size(), "timing.json has each worker's split");
    int rows = 2 + (ReportPage.workersDiffer(timing) ? 2 : 0);
    assertPoints(charts.get("time-split"), java.util.Collections.nCopies(6, rows));
    assertEquals(List.of("sigmoid", "tanh"), legend(charts.get("loss-step")));

    List<MetricsLog.Event> events = b.events();
    assertEquals(2, events.stream().filter(e -> e.kind().equals("joined")).count(), "two workers joined: " + events);
    assertTrue(a.events().isEmpty());
    for (String id : List.of("loss-step", "lr-step", "grad-norms")) {
      assertEquals(events.size(), byClass(charts.get(id), "event").size(), id + ": a mark per event");
    }
    assertTrue(dom.contains("weights_sha256") && dom.contains(Jobs.summary(tanh).weightsSha256()), "the summary table");

    Files.createDirectories(SCREENSHOT.getParent());
    Files.deleteIfExists(SCREENSHOT);
    chromium("--screenshot=" + SCREENSHOT.toAbsolutePath(), "--window-size=1600,1800", "--hide-scrollbars",
        html.toUri().toString());
    byte[] png = Files.readAllBytes(SCREENSHOT);
    assertTrue(png.length > 10_000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', "a PNG screenshot: " + png.length + " bytes");
  }

  /** Every series has the points it should, its polyline (or bars) as many, and the chart its axes and legend. */
  private static void assertPoints(Element chart, List<Integer> points) {
    String id = chart.getAttribute("data-chart");
    for (String a : List.of("x-axis", "y-axis")) {
      Element axis = axis(chart, a);
      List<Element> ticks = byClass(axis, "tick");
      assertTrue(ticks.size() >= 2, id + " " + a + ": " + ticks.size() + " ticks");
      for (Element t : ticks) {
        assertFalse(t.getElementsByTagName("text").item(0).getTextContent().isBlank(), id + " " + a + ": a tick without label");
      }
    }
    List<Element> series = byClass(chart, "series");
    assertEquals(points.size(), series.size(), id + ": series");
    assertEquals(Integer.toString(points.size()), chart.getAttribute("data-series"), id);
    assertEquals(points.size(), byClass(chart, "legend-item").size(), id + ": legend entries");
    for (int i = 0; i < series.size(); i++) {
      Element s = series.get(i);
      int drawn;
      NodeList polyline = s.getElementsByTagName("polyline");
      if (polyline.getLength() == 1) {
        String p = ((Element) polyline.item(0)).getAttribute("points").trim();
        drawn = p.isEmpty() ? 0 : p.split("\\s+").length;
      } else {
        drawn = s.getElementsByTagName("rect").getLength();
      }
      assertEquals(points.get(i), drawn, id + " series " + s.getAttribute("data-label") + ": points drawn");
      assertEquals(Integer.toString(points.get(i)), s.getAttribute("data-points"), id);
    }
  }

  private static List<String> legend(Element chart) {
    return byClass(chart, "legend-item").stream().map(e -> e.getElementsByTagName("text").item(0).getTextContent()).toList();
  }

  private static Element axis(Element chart, String which) {
    List<Element> axes = byClass(chart, which);
    assertEquals(1, axes.size(), chart.getAttribute("data-chart") + ": one " + which);
    return axes.get(0);
  }

  private static List<Element> byClass(Element root, String cls) {
    List<Element> found = new ArrayList<>();
    NodeList all = root.getElementsByTagName("*");
    for (int i = 0; i < all.getLength(); i++) {
      Element e = (Element) all.item(i);
      if (Arrays.asList(e.getAttribute("class").split(" ")).contains(cls)) {
        found.add(e);
      }
    }
    return found;
  }

  /** The charts of Chromium's serialised DOM by id, in page order: each inline {@code <svg>} parsed as XML. */
  private static Map<String, Element> charts(String dom) throws Exception {
    Map<String, Element> charts = new java.util.LinkedHashMap<>();
    Matcher m = Pattern.compile("<svg class=\"chart\".*?</svg>", Pattern.DOTALL).matcher(dom);
    while (m.find()) {
      Element svg = DocumentBuilderFactory.newInstance().newDocumentBuilder()
          .parse(new ByteArrayInputStream(m.group().getBytes(StandardCharsets.UTF_8))).getDocumentElement();
      charts.put(svg.getAttribute("data-chart"), svg);
    }
    assertFalse(charts.isEmpty(), "no chart in the DOM:\n" + dom.substring(0, Math.min(2000, dom.length())));
    return charts;
  }

  private Path train(String name, int workers, String activation, String... extra) {
    Path out = tmp.resolve(name);
    List<String> args = new ArrayList<>(List.of("train", "--workers", Integer.toString(workers), "--out", out.toString()));
    args.addAll(Jobs.spiralsJob(60));
    args.addAll(List.of("--activation", activation, "--log-every", "10"));
    args.addAll(List.of(extra));
    Jobs.Run r = Jobs.run(args);
    assertEquals(0, r.exitCode(), r.err() + r.out());
    return out;
  }

  /** The chromium binary, or null. */
  private static String chromium() {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (Files.isExecutable(Path.of(dir, "chromium"))) {
        return Path.of(dir, "chromium").toString();
      }
    }
    return null;
  }

  /** Runs headless Chromium with {@code args}; returns its stdout. */
  private String chromium(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(chromium(), "--headless", "--no-sandbox", "--disable-gpu",
        "--no-first-run", "--user-data-dir=" + tmp.resolve("chromium-profile")));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    byte[] out = p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "chromium did not end");
    assertEquals(0, p.exitValue(), "chromium " + String.join(" ", args));
    return new String(out, StandardCharsets.UTF_8);
  }
}
