package io.gradflow.cli;

import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** How often a job reports: {@code --log-every} (metrics records), {@code --progress-seconds} (progress lines). */
final class ReportOptions {
  @Spec(Spec.Target.MIXEE)
  CommandSpec mixee;

  @Option(names = "--log-every", paramLabel = "STEPS", description = "Write a metrics record every STEPS steps (default: ${DEFAULT-VALUE}).")
  int logEvery = 10;

  @Option(names = "--progress-seconds", paramLabel = "S", description = "When output is not a terminal, print a progress line at most every S seconds (default: ${DEFAULT-VALUE}).")
  double progressSeconds = 10;

  /** Every value in its range (a usage error naming the option and the value otherwise). */
  void check() {
    if (logEvery < 1) {
      throw CommandFailure.usage("--log-every " + logEvery + ": expected 1 or more steps");
    }
    if (!(progressSeconds >= 0) || !Double.isFinite(progressSeconds)) {
      throw CommandFailure.usage("--progress-seconds " + progressSeconds + ": expected 0 or more seconds");
    }
  }

  /** The progress display on the command's standard output. */
  ProgressDisplay display() {
    return new ProgressDisplay(mixee.commandLine().getOut(), Terminal.isInteractive(), progressSeconds);
  }

  /** These options as arguments for a server that a launcher or a job script starts. */
  List<String> toArgs() {
    return List.of("--log-every", Integer.toString(logEvery), "--progress-seconds", Double.toString(progressSeconds));
  }
}
