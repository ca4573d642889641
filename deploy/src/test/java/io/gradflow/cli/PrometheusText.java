package io.gradflow.cli;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict reader of the Prometheus text exposition format 0.0.4, for tests: every line is a
 * {@code # HELP}, a {@code # TYPE} or a sample; a sample belongs to a family declared by a TYPE line
 * before it (a counter's samples are its name or end in {@code _total} or {@code _created}; a histogram's in
 * {@code _bucket}, {@code _count}, {@code _sum} or {@code _created}); names and labels are well
 * formed, values are numbers, no series comes twice, a histogram's buckets are cumulative and end
 * with {@code le="+Inf"}, equal to its {@code _count}. Anything else throws naming the line.
 */
final class PrometheusText {
  private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})? (\\S+)( -?\\d+)?");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\\\n]|\\\\[\\\\\"n])*)\"");
  private static final List<String> TYPES = List.of("counter", "gauge", "histogram", "summary", "untyped", "info", "stateset");

  private final Map<String, String> types = new LinkedHashMap<>();
  /** Series (name plus labels as written) to value. */
  private final Map<String, Double> samples = new LinkedHashMap<>();

  static PrometheusText parse(String text) {
    PrometheusText p = new PrometheusText();
    if (!text.endsWith("\n")) {
      throw new IllegalArgumentException("the exposition does not end with a newline");
    }
    Map<String, Double> lastBucket = new HashMap<>();
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length - 1; i++) {
      String line = lines[i];
      String where = "line " + (i + 1) + " '" + line + "': ";
      if (line.startsWith("# ")) {
        String[] parts = line.split(" ", 4);
        if (parts.length < 3 || !NAME.matcher(parts[2]).matches()) {
          throw new IllegalArgumentException(where + "a comment that is no HELP or TYPE of a metric name");
        }
        if (parts[1].equals("TYPE")) {
          if (parts.length != 4 || !TYPES.contains(parts[3])) {
            throw new IllegalArgumentException(where + "unknown type");
          }
          if (p.types.put(parts[2], parts[3]) != null) {
            throw new IllegalArgumentException(where + "second TYPE for " + parts[2]);
          }
        } else if (!parts[1].equals("HELP")) {
          throw new IllegalArgumentException(where + "expected HELP or TYPE");
        }
        continue;
      }
      Matcher m = SAMPLE.matcher(line);
      if (!m.matches()) {
        throw new IllegalArgumentException(where + "not a sample");
      }
      String name = m.group(1);
      String family = family(p.types, name);
      if (family == null) {
        throw new IllegalArgumentException(where + "no TYPE declared for " + name);
      }
      Map<String, String> labels = new LinkedHashMap<>();
      if (m.group(3) != null && !m.group(3).isEmpty()) {
        for (String pair : m.group(3).split(",(?=[a-zA-Z_][a-zA-Z0-9_]*=\")")) {
          Matcher l = LABEL.matcher(pair);
          if (!l.matches() || labels.put(l.group(1), l.group(2)) != null) {
            throw new IllegalArgumentException(where + "bad or repeated label " + pair);
          }
        }
      }
      double value = number(m.group(4), where);
      String series = name + (m.group(2) == null ? "" : m.group(2));
      if (p.samples.put(series, value) != null) {
        throw new IllegalArgumentException(where + "series twice");
      }
      if (p.types.get(family).equals("histogram") && name.endsWith("_bucket")) {
        String le = labels.get("le");
        if (le == null) {
          throw new IllegalArgumentException(where + "a bucket without le");
        }
        String key = family + labels.entrySet().stream().filter(e -> !e.getKey().equals("le")).toList();
        Double before = lastBucket.put(key, value);
        if (before != null && value < before) {
          throw new IllegalArgumentException(where + "buckets are not cumulative");
        }
      }
    }
    for (Map.Entry<String, String> t : p.types.entrySet()) {
      if (t.getValue().equals("histogram") && p.samples.containsKey(t.getKey() + "_count")
          && !p.samples.get(t.getKey() + "_count").equals(p.samples.get(t.getKey() + "_bucket{le=\"+Inf\"}"))) {
        throw new IllegalArgumentException(t.getKey() + ": _count differs from the le=\"+Inf\" bucket");
      }
    }
    return p;
  }

  /** The family a sample name belongs to, by the suffixes its type allows; null if none. */
  private static String family(Map<String, String> types, String name) {
    if (types.containsKey(name) && !List.of("histogram", "summary").contains(types.get(name))) {
      return name; // a gauge; or a counter declared with its _total name, as client_java writes format 0.0.4
    }
    for (String suffix : List.of("_total", "_created", "_bucket", "_count", "_sum")) {
      if (name.endsWith(suffix)) {
        String base = name.substring(0, name.length() - suffix.length());
        String type = types.get(base);
        if (type != null && switch (type) {
          case "counter" -> suffix.equals("_total") || suffix.equals("_created");
          case "histogram" -> !suffix.equals("_total");
          case "summary" -> List.of("_count", "_sum", "_created").contains(suffix);
          default -> false;
        }) {
          return base;
        }
      }
    }
    if (types.containsKey(name) && types.get(name).equals("summary")) {
      return name; // quantile samples
    }
    return null;
  }

  private static double number(String s, String where) {
    switch (s) {
      case "+Inf":
        return Double.POSITIVE_INFINITY;
      case "-Inf":
        return Double.NEGATIVE_INFINITY;
      case "NaN":
        return Double.NaN;
      default:
        try {
          return Double.parseDouble(s);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(where + "value " + s + " is not a number");
        }
    }
  }

  /** The value of a series, as written ({@code name} or {@code name{label="v"}}). */
  double value(String series) {
    Double v = samples.get(series);
    if (v == null) {
      throw new AssertionError("no series " + series + " in " + samples.keySet());
    }
    return v;
  }

  String type(String family) {
    return types.get(family);
  }
}
