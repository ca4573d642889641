package io.gradflow.cli;

import io.gradflow.common.report.RunSummary;
import io.gradflow.common.report.RunTiming;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What {@code bench} takes from a finished run's output directory: {@code summary.json} and, for
 * a distributed run, {@code timing.json}, read as records.
 *
 * @param summary the run's summary (its steady samples/s: after the JIT warm-up, evaluation left out)
 * @param timing the server's timing, absent for a single-process run
 */
record RunResults(RunSummary summary, Optional<RunTiming> timing) {

  /** Reads the results of the run whose {@code --out} was {@code dir}. */
  static RunResults read(Path dir) {
    Path timing = RunTiming.file(dir);
    return new RunResults(RunSummary.read(RunSummary.file(dir)),
        Files.exists(timing) ? Optional.of(RunTiming.read(timing)) : Optional.empty());
  }
}
