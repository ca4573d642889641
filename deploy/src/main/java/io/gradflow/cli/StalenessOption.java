package io.gradflow.cli;

import io.gradflow.common.train.TrainingConfig;
import picocli.CommandLine.Option;

/** {@code --staleness K}: step t computes its gradient on the weights of step t - K, so workers overlap compute and communication. */
final class StalenessOption {
  @Option(
      names = "--staleness",
      paramLabel = "K",
      description = "Deterministic overlap of communication and compute: step t applies the gradient of its batch"
          + " computed on the weights of step t-K (0: synchronous SGD; at most " + TrainingConfig.MAX_STALENESS
          + "; the same bits for any worker count) (default: ${DEFAULT-VALUE}).")
  int staleness = 0;

  /** K; outside 0..{@value TrainingConfig#MAX_STALENESS} is a usage error naming the option. */
  int value() {
    if (staleness < 0 || staleness > TrainingConfig.MAX_STALENESS) {
      throw CommandFailure.usage("--staleness " + staleness + ": expected 0.." + TrainingConfig.MAX_STALENESS);
    }
    return staleness;
  }
}
