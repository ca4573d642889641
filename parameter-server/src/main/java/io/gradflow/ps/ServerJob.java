package io.gradflow.ps;

import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.checkpoint.Checkpoint;
import io.gradflow.common.model.Network;
import io.gradflow.common.train.TrainingConfig;

/**
 * What the parameter server trains: the initial network, the hyper-parameters, the data (the
 * training set's digest is what workers must match; the test set is evaluated after every
 * epoch), how many workers it waits for before the first step, and, when it resumes, the
 * checkpoint it continues from.
 */
public record ServerJob(Network network, TrainingConfig config, TrainTestSplit data, int workers, Checkpoint resumeFrom) {
  public ServerJob {
    if (workers <= 0) {
      throw new IllegalArgumentException("--workers must be at least 1, got " + workers);
    }
    if (workers > config.microShards()) {
      throw new IllegalArgumentException(
          workers + " workers but only " + config.microShards()
              + " micro-shards: raise --micro-shards to at least the worker count");
    }
  }

  /** A fresh job. */
  public ServerJob(Network network, TrainingConfig config, TrainTestSplit data, int workers) {
    this(network, config, data, workers, null);
  }

  /** A job that continues from {@code checkpoint}. */
  public static ServerJob resume(Checkpoint checkpoint, TrainTestSplit data, int workers) {
    return new ServerJob(checkpoint.network(), checkpoint.config(), data, workers, checkpoint);
  }
}
