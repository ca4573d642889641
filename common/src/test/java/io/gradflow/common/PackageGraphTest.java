package io.gradflow.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The packages of common depend on each other without a cycle, read from the {@code import
 * io.gradflow.common.*} lines of the main sources, so each package can be understood (and moved)
 * from the ones below it.
 */
class PackageGraphTest {
  private static final Path SOURCES = Path.of("src/main/java/io/gradflow/common");
  private static final Pattern IMPORT =
      Pattern.compile("^import\\s+(?:static\\s+)?io\\.gradflow\\.common\\.([a-z0-9_]+)\\.", Pattern.MULTILINE);

  @Test
  void commonHasNoPackageCycle() throws IOException {
    Map<String, Set<String>> graph = packageGraph(SOURCES);
    assertTrue(graph.size() >= 10, "read only " + graph.keySet() + " under " + SOURCES.toAbsolutePath());
    List<String> cycle = findCycle(graph);
    if (cycle != null) {
      fail("package cycle in common: " + String.join(" -> ", cycle) + "\nthe graph: " + graph);
    }
  }

  @Test
  void theFixedPointFormatImportsNothing() throws IOException {
    String source = Files.readString(SOURCES.resolve("reduce/FixedPoint.java"));
    assertTrue(source.lines().noneMatch(l -> l.startsWith("import ")), "FixedPoint.java has imports");
  }

  @Test
  void findsACycleAndNamesItsPackages() {
    Map<String, Set<String>> graph = new TreeMap<>();
    graph.put("kernels", Set.of("model", "reduce"));
    graph.put("model", Set.of());
    graph.put("nn", Set.of("kernels", "model"));
    graph.put("reduce", Set.of("nn"));
    assertEquals(List.of("kernels", "reduce", "nn", "kernels"), findCycle(graph));
    graph.put("reduce", Set.of("model"));
    assertEquals(null, findCycle(graph));
  }

  /** For each package under {@code root}, the other packages of common its files import. */
  static Map<String, Set<String>> packageGraph(Path root) throws IOException {
    Map<String, Set<String>> graph = new TreeMap<>();
    List<Path> files;
    try (Stream<Path> walk = Files.walk(root)) {
      files = walk.filter(p -> p.toString().endsWith(".java")).toList();
    }
    for (Path file : files) {
      String from = root.relativize(file.getParent()).toString().replace('/', '.');
      Set<String> to = graph.computeIfAbsent(from, k -> new TreeSet<>());
      Matcher m = IMPORT.matcher(Files.readString(file));
      while (m.find()) {
        if (!m.group(1).equals(from)) {
          to.add(m.group(1));
        }
      }
    }
    return graph;
  }

  /** A cycle {@code a -> b -> ... -> a} of the graph, or null when it has none (depth-first). */
  static List<String> findCycle(Map<String, Set<String>> graph) {
    Map<String, Integer> state = new TreeMap<>(); // absent: unvisited, 1: on the path, 2: done
    List<String> path = new ArrayList<>();
    for (String start : graph.keySet()) {
      List<String> cycle = visit(start, graph, state, path);
      if (cycle != null) {
        return cycle;
      }
    }
    return null;
  }

  private static List<String> visit(
      String node, Map<String, Set<String>> graph, Map<String, Integer> state, List<String> path) {
    Integer s = state.get(node);
    if (s != null && s == 2) {
      return null;
    }
    if (s != null) {
      List<String> cycle = new ArrayList<>(path.subList(path.indexOf(node), path.size()));
      cycle.add(node);
      return cycle;
    }
    state.put(node, 1);
    path.add(node);
    for (String next : graph.getOrDefault(node, Set.of())) {
      List<String> cycle = visit(next, graph, state, path);
      if (cycle != null) {
        return cycle;
      }
    }
    path.remove(path.size() - 1);
    state.put(node, 2);
    return null;
  }
}
