package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every link in the README and docs/ stays inside the repository: no URL, no absolute path, no
 * path above the repository's root; every relative path exists and every {@code #anchor} names a
 * heading of its target (GitHub's heading slugs).
 */
class DocumentationLinksTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Pattern FENCE = Pattern.compile("^```.*?^```", Pattern.DOTALL | Pattern.MULTILINE);
  private static final Pattern INLINE_CODE = Pattern.compile("`[^`\n]*`");
  private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)(?:\\s+\"[^\"]*\")?\\)|href=\"([^\"]+)\"");
  private static final Pattern HEADING = Pattern.compile("^#{1,6}\\s+(.*?)\\s*#*\\s*$", Pattern.MULTILINE);

  @Test
  void everyLinkResolvesInsideTheRepository() throws IOException {
    List<Path> files = markdownFiles();
    assertTrue(files.contains(ROOT.resolve("README.md")), "README.md found under " + ROOT);
    List<String> bad = new ArrayList<>();
    int links = 0;
    for (Path file : files) {
      String text = INLINE_CODE.matcher(FENCE.matcher(Files.readString(file)).replaceAll("")).replaceAll("");
      Matcher m = LINK.matcher(text);
      while (m.find()) {
        links++;
        String target = m.group(1) != null ? m.group(1) : m.group(2);
        String problem = problemOf(file, target);
        if (problem != null) {
          bad.add(ROOT.relativize(file) + ": " + target + ": " + problem);
        }
      }
    }
    assertTrue(links > 10, "the README and docs link to each other (" + links + " links found)");
    assertEquals(List.of(), bad);
  }

  @Test
  void aLinkOutOfTheRepositoryOrToAMissingHeadingIsCaught() throws IOException {
    Path readme = ROOT.resolve("README.md");
    assertEquals("leaves the repository", problemOf(readme, "https://example.org/x"));
    assertEquals("outside the repository", problemOf(readme, "../shared/DESIGN.md"));
    assertEquals("no such file", problemOf(readme, "docs/nothing-here.md"));
    assertTrue(problemOf(readme, "docs/design.md#no-such-heading").startsWith("no heading"));
  }

  private static String problemOf(Path file, String target) throws IOException {
    if (target.matches("(?i)^[a-z][a-z0-9+.-]*:.*") || target.startsWith("/")) {
      return "leaves the repository";
    }
    int hash = target.indexOf('#');
    String path = hash < 0 ? target : target.substring(0, hash);
    String anchor = hash < 0 ? "" : target.substring(hash + 1);
    Path dest = path.isEmpty() ? file : file.getParent().resolve(path).normalize();
    if (!dest.startsWith(ROOT)) {
      return "outside the repository";
    }
    if (!Files.exists(dest)) {
      return "no such file";
    }
    if (!anchor.isEmpty()) {
      if (!dest.toString().endsWith(".md")) {
        return "anchor into a non-Markdown file";
      }
      if (!slugs(dest).contains(anchor)) {
        return "no heading #" + anchor + " in " + ROOT.relativize(dest);
      }
    }
    return null;
  }

  /** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
  private static Set<String> slugs(Path file) throws IOException {
    Set<String> out = new HashSet<>();
    Map<String, Integer> seen = new HashMap<>();
    Matcher m = HEADING.matcher(FENCE.matcher(Files.readString(file)).replaceAll(""));
    while (m.find()) {
      String s = m.group(1).strip().toLowerCase(Locale.ROOT).replace("`", "");
      s = s.replaceAll("[^\\w\\- ]", "").replace(' ', '-');
      int n = seen.merge(s, 1, Integer::sum) - 1;
      out.add(n == 0 ? s : s + "-" + n);
    }
    return out;
  }

  private static List<Path> markdownFiles() throws IOException {
    List<Path> files = new ArrayList<>(List.of(ROOT.resolve("README.md")));
    try (Stream<Path> docs = Files.walk(ROOT.resolve("docs"))) {
      docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(files::add);
    }
    return files;
  }
}
