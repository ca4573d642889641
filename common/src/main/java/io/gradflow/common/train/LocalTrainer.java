package io.gradflow.common.train;

import io.gradflow.common.reduce.ExactGradientSum;

import io.gradflow.common.data.SamplingPlan;
import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;

/**
 * The single-process trainer: per step it computes every micro-shard's gradient, sums them
 * exactly and applies the optimizer once, exactly as the parameter server does with the pushes of
 * its workers, so both give the same weights to the bit. Gradient descent (B = N), SGD (B = 1) and
 * minibatch SGD are this loop with a different batch.
 *
 * <p>With staleness K it emulates the distributed trainer's overlap exactly: step {@code t}
 * computes its gradient on the weights of version {@code max(0, t - K)} (kept in {@link
 * WeightVersions}) and applies it to the current weights, {@code v <- mu v + g(w_{t-K}; batch_t)},
 * {@code w_{t+1} = w_t - lr v}.
 */
public final class LocalTrainer {
  private final TrainTestSplit data;
  private final Network net;
  private final TrainingSetup setup;
  private final ShardGradients shards;
  private final double[] shardLoss;
  private final WeightVersions versions;
  private float lastRate;

  public LocalTrainer(Network net, TrainingConfig config, TrainTestSplit data) {
    this(net, config, data, 1);
  }

  /**
   * @param threads micro-shards computed in parallel; the weights are the same bits for any count
   */
  public LocalTrainer(Network net, TrainingConfig config, TrainTestSplit data, int threads) {
    this.data = data;
    this.net = net;
    this.setup = TrainingSetup.of(net, config, data.train().count());
    this.shards = new ShardGradients(net, config.kernels(), threads, setup.plan(), data.train());
    this.shardLoss = new double[config.microShards()];
    this.versions = WeightVersions.fresh(net, config.staleness());
  }

  public long totalSteps() {
    return setup.totalSteps();
  }

  public SamplingPlan plan() {
    return setup.plan();
  }

  public Network network() {
    return net;
  }

  /** Runs steps {@code [0, totalSteps)}, evaluating on the test set after every epoch. */
  public void run(TrainingListener listener) {
    EpochBookkeeping epochs = new EpochBookkeeping(setup, data, listener);
    epochs.start(net.spec(), 0, 0);
    for (long step = 0; step < setup.totalSteps(); step++) {
      double loss;
      boolean readsGradient = epochs.readsGradient(step);
      try {
        loss = step(step, readsGradient);
      } catch (ExactGradientSum.NonFiniteGradientException e) {
        throw new DivergedException(step, e.getMessage());
      }
      epochs.stepApplied(step, loss, lastRate, readsGradient ? setup.update().gradient() : null);
      epochs.endEpochIfDue(step, net);
    }
    epochs.finish(net, setup.totalSteps());
    shards.close();
  }

  /**
   * One step (steps run in order from 0): the gradient of the step's global batch on the weights
   * of version {@code max(0, step - K)}, applied to the current weights; returns the batch's mean loss.
   */
  public double step(long step) {
    return step(step, true);
  }

  /** As {@link #step(long)}; {@code keepGradient} false: the update does not write the float gradient. */
  double step(long step, boolean keepGradient) {
    SynchronousUpdate update = setup.update();
    shards.compute(versions.forStep(step), step, 0, setup.plan().microShards(), update.sum(), shardLoss);
    lastRate = update.apply(net, step, keepGradient);
    versions.advance();
    return EpochBookkeeping.meanLoss(shardLoss, setup.plan().batch());
  }

  /** The reduced float gradient of the last step that kept it. */
  Gradients gradient() {
    return setup.update().gradient();
  }

  public Evaluator.Result evaluate() {
    return setup.evaluator().evaluate(net, data.test());
  }
}
