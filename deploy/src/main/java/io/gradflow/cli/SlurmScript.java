package io.gradflow.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Slurm job script of {@code gradflow submit}: the template {@code deploy/slurm/gradflow.sbatch}
 * (bundled in the jar) with its {@code #SBATCH} directives and its {@code # gradflow-submit:KEY}
 * lines filled in.
 */
final class SlurmScript {
  /** Where the template lives in the jar (copied there from deploy/slurm/ by the build). */
  static final String TEMPLATE_RESOURCE = "/io/gradflow/cli/slurm/gradflow.sbatch";

  /** Template lines ending with this marker and a key are replaced by submit. */
  static final String MARKER = "# gradflow-submit:";

  private SlurmScript() {}

  /** The bundled template. */
  static String template() throws IOException {
    try (InputStream in = SlurmScript.class.getResourceAsStream(TEMPLATE_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("gradflow.sbatch is missing from the jar (" + TEMPLATE_RESOURCE + ")");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /**
   * The template with its {@code #SBATCH} block replaced (the template's directives, overridden
   * and extended by {@code directives}, then {@code extra}) and every {@code # gradflow-submit:KEY}
   * line replaced by {@code values.get(KEY)}.
   */
  static String render(String template, Map<String, String> directives, List<String> extra, Map<String, String> values) {
    Map<String, String> merged = new LinkedHashMap<>();
    List<String> lines = template.lines().toList();
    for (String line : lines) {
      if (line.startsWith("#SBATCH ")) {
        String opt = line.substring("#SBATCH ".length()).trim();
        int eq = opt.indexOf('=');
        merged.put(eq < 0 ? opt : opt.substring(0, eq), eq < 0 ? null : opt.substring(eq + 1));
      }
    }
    merged.putAll(directives);
    StringBuilder sb = new StringBuilder();
    boolean directivesWritten = false;
    for (String line : lines) {
      if (line.startsWith("#SBATCH ")) {
        if (!directivesWritten) {
          for (Map.Entry<String, String> e : merged.entrySet()) {
            sb.append("#SBATCH ").append(e.getKey());
            if (e.getValue() != null) {
              sb.append('=').append(e.getValue());
            }
            sb.append('\n');
          }
          for (String o : extra) {
            sb.append("#SBATCH ").append(o).append('\n');
          }
          directivesWritten = true;
        }
        continue;
      }
      int m = line.indexOf(MARKER);
      if (m >= 0) {
        String key = line.substring(m + MARKER.length()).trim();
        String value = values.get(key);
        if (value == null) {
          throw new IllegalStateException("gradflow.sbatch: no value for " + MARKER + key);
        }
        sb.append(value).append("  # set by gradflow submit\n");
        continue;
      }
      sb.append(line).append('\n');
    }
    return sb.toString();
  }
}
