package io.gradflow.cli;

import picocli.CommandLine.Option;

/** The global batch and the micro-shards it is cut into. */
final class BatchOptions {
  /** Default number of micro-shards: 8, or the batch when it is smaller. */
  static final int DEFAULT_MICRO_SHARDS = 8;

  @Option(names = "--batch", paramLabel = "B", description = "Global minibatch size; 1 is SGD, the training set size is full-batch GD (default: ${DEFAULT-VALUE}).")
  int batch = 128;

  @Option(
      names = "--micro-shards",
      paramLabel = "M",
      description = "Fixed micro-shards the global batch is cut into; workers own contiguous ranges, so results do not depend on the worker count (default: 8, or the batch when smaller).")
  Integer microShards;

  /** {@code --micro-shards}, or its default for the batch. */
  int microShards() {
    return microShards != null ? microShards : Math.min(DEFAULT_MICRO_SHARDS, batch);
  }
}
