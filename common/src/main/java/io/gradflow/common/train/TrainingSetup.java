package io.gradflow.common.train;

import io.gradflow.common.data.SamplingPlan;
import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.model.Network;
import io.gradflow.common.optim.SgdOptimizer;

/**
 * What a synchronous job builds from its config, the same way in the single-process trainer and
 * the parameter server: the sampling plan, the number of steps, the optimizer with its
 * learning-rate schedule and the update that applies it, and the test-set evaluator.
 */
public record TrainingSetup(
    TrainingConfig config, SamplingPlan plan, long totalSteps, SynchronousUpdate update, Evaluator evaluator) {

  /** The setup of training {@code net} with {@code config} on a training set of {@code trainCount} rows. */
  public static TrainingSetup of(Network net, TrainingConfig config, int trainCount) {
    SamplingPlan plan = new SamplingPlan(trainCount, config.batch(), config.microShards(), config.seed());
    long totalSteps = config.totalSteps(trainCount);
    SgdOptimizer optimizer = new SgdOptimizer(
        net, config.scheduleFor(totalSteps, plan.stepsPerEpoch()), config.momentum(), config.weightDecay());
    return new TrainingSetup(
        config, plan, totalSteps, new SynchronousUpdate(net, optimizer), new Evaluator(net, Kernels.byName(config.kernels())));
  }
}
