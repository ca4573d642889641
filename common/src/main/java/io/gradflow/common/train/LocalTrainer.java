package io.gradflow.common.train;

import io.gradflow.common.data.SamplingPlan;
import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.kernels.DenseKernels;
import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.model.Network;
import io.gradflow.common.optim.SgdOptimizer;

/**
 * The single-process trainer: per step it computes every micro-shard's gradient, sums them
 * exactly and applies the optimizer once, exactly as the parameter server does with the pushes of
 * its workers, so both give the same weights to the bit. Gradient descent (B = N), SGD (B = 1) and
 * minibatch SGD are this loop with a different batch.
 */
public final class LocalTrainer {
  private final TrainingConfig config;
  private final TrainTestSplit data;
  private final Network net;
  private final SamplingPlan plan;
  private final ShardGradients shards;
  private final SynchronousUpdate update;
  private final Evaluator evaluator;
  private final long totalSteps;
  private final double[] shardLoss;
  private float lastRate;

  public LocalTrainer(Network net, TrainingConfig config, TrainTestSplit data) {
    this(net, config, data, 1);
  }

  /**
   * @param threads micro-shards computed in parallel; the weights are the same bits for any count
   */
  public LocalTrainer(Network net, TrainingConfig config, TrainTestSplit data, int threads) {
    this.config = config;
    this.data = data;
    this.net = net;
    DenseKernels kernels = Kernels.byName(config.kernels());
    this.plan =
        new SamplingPlan(data.train().count(), config.batch(), config.microShards(), config.seed());
    this.shards = new ShardGradients(net, config.kernels(), threads, plan, data.train());
    this.totalSteps = config.totalSteps(data.train().count());
    SgdOptimizer opt =
        new SgdOptimizer(net, config.scheduleFor(totalSteps, plan.stepsPerEpoch()), config.momentum(), config.weightDecay());
    this.update = new SynchronousUpdate(net, opt);
    this.evaluator = new Evaluator(net, kernels);
    this.shardLoss = new double[config.microShards()];
  }

  public long totalSteps() {
    return totalSteps;
  }

  public SamplingPlan plan() {
    return plan;
  }

  public Network network() {
    return net;
  }

  /** Runs steps {@code [0, totalSteps)}, evaluating on the test set after every epoch. */
  public void run(TrainingListener listener) {
    int perEpoch = plan.stepsPerEpoch();
    listener.onStart(
        new JobInfo(
            net.spec(), config, 0, totalSteps, perEpoch, data.train().count(), data.test().count(), 0));
    Evaluator.Result test = null;
    double lastEpochLoss = Double.NaN;
    double epochLoss = 0;
    int epochSteps = 0;
    for (long step = 0; step < totalSteps; step++) {
      double loss = step(step);
      int epoch = plan.epochOf(step);
      listener.onStep(step, epoch, loss, lastRate, update.gradient());
      epochLoss += loss;
      epochSteps++;
      boolean endOfEpoch = (step + 1) % perEpoch == 0 || step + 1 == totalSteps;
      if (endOfEpoch) {
        test = evaluator.evaluate(net, data.test());
        lastEpochLoss = epochLoss / epochSteps;
        listener.onEpoch(epoch, step, test, lastEpochLoss);
        epochLoss = 0;
        epochSteps = 0;
      }
    }
    if (test == null) {
      test = evaluator.evaluate(net, data.test());
    }
    listener.onFinish(net, totalSteps, test, lastEpochLoss);
    shards.close();
  }

  /** One synchronous step; returns the mean loss of its global batch. */
  public double step(long step) {
    shards.compute(net, step, 0, plan.microShards(), update.sum(), shardLoss);
    lastRate = update.apply(net, step);
    double lossSum = 0;
    for (double l : shardLoss) {
      lossSum += l;
    }
    return lossSum / plan.batch();
  }

  public Evaluator.Result evaluate() {
    return evaluator.evaluate(net, data.test());
  }
}
