package io.gradflow.ps;

import io.gradflow.common.checkpoint.CheckpointStore;

/**
 * How the server treats membership and failures.
 *
 * @param minWorkers below this many live workers the job pauses and waits for joiners
 * @param backupWorkers extra copies of unfinished micro-shards handed to idle workers (stragglers)
 * @param workerTimeoutMillis a worker silent (no heartbeat, pull or push) this long is lost
 * @param checkpointEvery write a checkpoint every this many steps (0: only at the end)
 * @param checkpoints where checkpoints go; null for none
 */
public record ServerPolicy(
    int minWorkers,
    int backupWorkers,
    long workerTimeoutMillis,
    long checkpointEvery,
    CheckpointStore checkpoints) {

  public ServerPolicy {
    if (minWorkers < 1) {
      throw new IllegalArgumentException("--min-workers must be at least 1, got " + minWorkers);
    }
    if (backupWorkers < 0) {
      throw new IllegalArgumentException("--backup-workers must be >= 0, got " + backupWorkers);
    }
    if (workerTimeoutMillis <= 0) {
      throw new IllegalArgumentException("--worker-timeout must be positive, got " + workerTimeoutMillis + " ms");
    }
    if (checkpointEvery < 0) {
      throw new IllegalArgumentException("--checkpoint-every must be >= 0, got " + checkpointEvery);
    }
  }

  /** One worker suffices, no backups, 10 s timeout, no checkpoints. */
  public static ServerPolicy defaults() {
    return new ServerPolicy(1, 0, 10_000, 0, null);
  }
}
