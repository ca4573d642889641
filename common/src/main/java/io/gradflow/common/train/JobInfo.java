package io.gradflow.common.train;

import io.gradflow.common.model.ModelSpec;

/**
 * What a training job is about to do: its model and hyper-parameters, how many workers compute
 * (0 for the single-process trainer), and its length.
 */
public record JobInfo(
    ModelSpec spec,
    TrainingConfig config,
    int workers,
    long totalSteps,
    int stepsPerEpoch,
    int trainCount,
    int testCount,
    long firstStep) {}
