package io.gradflow.report;

import io.gradflow.common.report.MetricsLog;
import io.gradflow.common.report.RunSummary;
import io.gradflow.common.report.RunTiming;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What a report shows of one run directory: its metrics ({@code metrics.jsonl}, or {@code
 * metrics.jsonl.partial} of a job still running or failed), its {@code summary.json} when it
 * finished, and its {@code timing.json} when it was distributed.
 *
 * @param label the name the report gives the run (legends, table heads)
 * @param finished false when only {@code metrics.jsonl.partial} was there
 */
public record RunData(String label, Path dir, MetricsLog metrics, Optional<RunSummary> summary,
    Optional<RunTiming> timing, boolean finished) {

  /**
   * Reads the run whose {@code --out} was {@code dir}.
   *
   * @throws IllegalArgumentException "DIR: ..." when it is no run directory
   */
  public static RunData read(Path dir, String label) {
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException(dir + ": not a directory (expected a run's --out directory)");
    }
    Path metrics = MetricsLog.file(dir);
    boolean finished = Files.exists(metrics);
    if (!finished) {
      metrics = MetricsLog.partialFile(dir);
      if (!Files.exists(metrics)) {
        throw new IllegalArgumentException(dir + ": no metrics.jsonl (expected a run's --out directory)");
      }
    }
    Path summary = RunSummary.file(dir);
    Path timing = RunTiming.file(dir);
    return new RunData(label, dir, MetricsLog.read(metrics),
        finished && Files.exists(summary) ? Optional.of(RunSummary.read(summary)) : Optional.empty(),
        finished && Files.exists(timing) ? Optional.of(RunTiming.read(timing)) : Optional.empty(),
        finished);
  }

  /** Layers in the gradient norms of the step records (0 with none). */
  int layers() {
    int n = 0;
    for (MetricsLog.Step s : metrics.steps()) {
      n = Math.max(n, s.gradNorms() == null ? 0 : s.gradNorms().length);
    }
    return n;
  }
}
