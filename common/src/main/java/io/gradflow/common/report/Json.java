package io.gradflow.common.report;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A JSON object with keys in insertion order, written on one line: enough for metrics.jsonl and
 * summary.json without another dependency.
 */
public final class Json {
  private final Map<String, Object> fields = new LinkedHashMap<>();

  public Json put(String key, Object value) {
    fields.put(key, value);
    return this;
  }

  public Object get(String key) {
    return fields.get(key);
  }

  /**
   * The scalar value of {@code key} in a flat JSON object as this class writes it (a number,
   * string, boolean or null, as text without quotes), or null when absent.
   */
  public static String field(String json, String key) {
    java.util.regex.Matcher m = java.util.regex.Pattern
        .compile("\"" + java.util.regex.Pattern.quote(key) + "\"\\s*:\\s*(\"((?:[^\"\\\\]|\\\\.)*)\"|[^,}\\s]+)")
        .matcher(json);
    if (!m.find()) {
      return null;
    }
    return m.group(2) != null ? m.group(2) : m.group(1);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder();
    writeValue(sb, fields);
    return sb.toString();
  }

  /** Pretty form: one field per line (summary.json). */
  public String toPrettyString() {
    StringBuilder sb = new StringBuilder("{\n");
    int i = 0;
    for (Map.Entry<String, Object> e : fields.entrySet()) {
      sb.append("  ");
      writeString(sb, e.getKey());
      sb.append(": ");
      writeValue(sb, e.getValue());
      sb.append(++i < fields.size() ? ",\n" : "\n");
    }
    return sb.append("}\n").toString();
  }

  private static void writeValue(StringBuilder sb, Object v) {
    if (v == null) {
      sb.append("null");
    } else if (v instanceof String s) {
      writeString(sb, s);
    } else if (v instanceof Double d) {
      writeDouble(sb, d);
    } else if (v instanceof Float f) {
      writeDouble(sb, f.doubleValue());
    } else if (v instanceof Number || v instanceof Boolean) {
      sb.append(v);
    } else if (v instanceof double[] arr) {
      sb.append('[');
      for (int i = 0; i < arr.length; i++) {
        if (i > 0) {
          sb.append(',');
        }
        writeDouble(sb, arr[i]);
      }
      sb.append(']');
    } else if (v instanceof Json j) {
      writeValue(sb, j.fields);
    } else if (v instanceof Map<?, ?> m) {
      sb.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        writeString(sb, String.valueOf(e.getKey()));
        sb.append(':');
        writeValue(sb, e.getValue());
      }
      sb.append('}');
    } else if (v instanceof Iterable<?> it) {
      sb.append('[');
      boolean first = true;
      for (Object o : it) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        writeValue(sb, o);
      }
      sb.append(']');
    } else {
      writeString(sb, v.toString());
    }
  }

  private static void writeDouble(StringBuilder sb, double d) {
    if (!Double.isFinite(d)) {
      sb.append("null");
    } else {
      sb.append(d); // shortest round-trip form; valid JSON for finite values
    }
  }

  private static void writeString(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) {
            sb.append(String.format(java.util.Locale.ROOT, "\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }
}
