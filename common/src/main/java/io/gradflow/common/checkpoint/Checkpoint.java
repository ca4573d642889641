package io.gradflow.common.checkpoint;

import io.gradflow.common.model.Network;
import io.gradflow.common.train.TrainingConfig;

/**
 * Everything a job needs to continue to the same bits after a restart: the weights after {@code
 * step} applied steps, the optimizer's momentum buffers, the hyper-parameters (the sampling
 * position is the step; the seeds are in the config and spec) and the running loss of the
 * unfinished epoch; with staleness K also the weights of versions {@code max(0, step - K) .. step - 1},
 * oldest first, on which the steps still open after {@code step} compute (empty for K = 0).
 */
public record Checkpoint(
    Network network,
    float[][] velocity,
    boolean optimizerStarted,
    long step,
    TrainingConfig config,
    String fingerprint,
    double epochLossSum,
    int epochSteps,
    java.util.List<Network> earlierWeights) {

  /** A checkpoint of a job without staleness. */
  public Checkpoint(Network network, float[][] velocity, boolean optimizerStarted, long step, TrainingConfig config,
      String fingerprint, double epochLossSum, int epochSteps) {
    this(network, velocity, optimizerStarted, step, config, fingerprint, epochLossSum, epochSteps, java.util.List.of());
  }
}
