package io.gradflow.common.checkpoint;

import io.gradflow.common.model.Network;
import io.gradflow.common.train.TrainingConfig;

/**
 * Everything a job needs to continue to the same bits after a restart: the weights after {@code
 * step} applied steps, the optimizer's momentum buffers, the hyper-parameters (the sampling
 * position is the step; the seeds are in the config and spec) and the running loss of the
 * unfinished epoch.
 */
public record Checkpoint(
    Network network,
    float[][] velocity,
    boolean optimizerStarted,
    long step,
    TrainingConfig config,
    String fingerprint,
    double epochLossSum,
    int epochSteps) {}
