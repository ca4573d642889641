package io.gradflow.cli;

import java.util.List;
import picocli.CommandLine.Option;

/**
 * How the parameter server copes with slow and lost workers and with its own loss: {@code
 * --min-workers}, {@code --backup-workers}, {@code --worker-timeout}, {@code --checkpoint-every}.
 */
final class RecoveryOptions {
  @Option(names = "--min-workers", paramLabel = "K", description = "Below K live workers the job pauses and waits for joiners (default: ${DEFAULT-VALUE}).")
  int minWorkers = 1;

  @Option(names = "--backup-workers", paramLabel = "K", description = "Hand up to K extra copies of unfinished micro-shards to idle workers, so a straggler does not hold a step (default: ${DEFAULT-VALUE}).")
  int backupWorkers = 0;

  @Option(names = "--worker-timeout", paramLabel = "SECONDS", description = "A worker silent this long (no heartbeat) is declared lost and its micro-shards reassigned (default: ${DEFAULT-VALUE}).")
  double workerTimeoutSeconds = 5;

  @Option(names = "--checkpoint-every", paramLabel = "STEPS", description = "Write a checkpoint every STEPS steps, and at the end, in OUT/checkpoints (0: only at the end; default: ${DEFAULT-VALUE}).")
  long checkpointEvery = 100;

  /** Every value in its range (a usage error naming the option and the value otherwise). */
  void check() {
    if (minWorkers < 1) {
      throw CommandFailure.usage("--min-workers " + minWorkers + ": expected 1 or more");
    }
    if (backupWorkers < 0) {
      throw CommandFailure.usage("--backup-workers " + backupWorkers + ": expected 0 or more");
    }
    if (!(workerTimeoutSeconds > 0) || !Double.isFinite(workerTimeoutSeconds)) {
      throw CommandFailure.usage("--worker-timeout " + workerTimeoutSeconds + ": expected a number of seconds > 0");
    }
    if (checkpointEvery < 0) {
      throw CommandFailure.usage("--checkpoint-every " + checkpointEvery + ": expected 0 or more steps");
    }
  }

  /** {@link #workerTimeoutSeconds} in milliseconds. */
  long workerTimeoutMillis() {
    return (long) (workerTimeoutSeconds * 1000);
  }

  /** These options as arguments for a child server. */
  List<String> toArgs() {
    return List.of("--min-workers", Integer.toString(minWorkers), "--backup-workers", Integer.toString(backupWorkers),
        "--worker-timeout", Double.toString(workerTimeoutSeconds), "--checkpoint-every", Long.toString(checkpointEvery));
  }
}
