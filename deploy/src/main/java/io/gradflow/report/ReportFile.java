package io.gradflow.report;

import io.gradflow.common.report.AtomicTextFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Reads run directories and writes their report as one HTML file. */
public final class ReportFile {
  private ReportFile() {}

  /**
   * Reads {@code dirs}, each labelled by its directory name (by the path as given where two names
   * are the same), and writes the page to {@code out} atomically.
   *
   * @return the runs read
   * @throws IllegalArgumentException naming a directory that is no run directory
   */
  public static List<RunData> write(List<Path> dirs, Path out) {
    Set<String> names = new HashSet<>();
    Set<String> repeated = new HashSet<>();
    for (Path d : dirs) {
      if (!names.add(name(d))) {
        repeated.add(name(d));
      }
    }
    List<RunData> runs = new ArrayList<>();
    for (Path d : dirs) {
      runs.add(RunData.read(d, repeated.contains(name(d)) ? d.toString() : name(d)));
    }
    String html = new ReportPage(runs).html();
    AtomicTextFile.write(out, html);
    return runs;
  }

  private static String name(Path dir) {
    Path n = dir.toAbsolutePath().normalize().getFileName();
    return n == null ? dir.toString() : n.toString();
  }
}
