package io.gradflow.common.train;

import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.reduce.FixedPoint;
import io.gradflow.common.wire.PushPrecision;
import io.gradflow.proto.TrainConfig;

/**
 * The hyper-parameters of a training job. Together with the model spec they are the job's
 * fingerprint: a worker must agree on all of them with the server.
 *
 * @param maxSteps 0 for no limit beyond {@code epochs}
 * @param stepSize for the step schedule, steps between decays; 0 for one epoch
 * @param pushPrecision how workers push gradients; only distributed jobs have pushes
 * @param staleness K: step {@code t} applies the gradient of batch {@code t} computed on the weights
 *     of version {@code max(0, t - K)}; 0 is synchronous SGD
 */
public record TrainingConfig(
    String dataset,
    int batch,
    int microShards,
    double learningRate,
    double momentum,
    double weightDecay,
    LearningRateSchedule.Kind schedule,
    int warmupSteps,
    int stepSize,
    double stepGamma,
    int epochs,
    long maxSteps,
    long seed,
    String kernels,
    PushPrecision pushPrecision,
    int staleness) {

  /** The largest staleness a job may have: the server keeps K + 1 weight versions and K + 1 open steps. */
  public static final int MAX_STALENESS = 8;

  /** A synchronous job (staleness 0). */
  public TrainingConfig(String dataset, int batch, int microShards, double learningRate, double momentum,
      double weightDecay, LearningRateSchedule.Kind schedule, int warmupSteps, int stepSize, double stepGamma,
      int epochs, long maxSteps, long seed, String kernels, PushPrecision pushPrecision) {
    this(dataset, batch, microShards, learningRate, momentum, weightDecay, schedule, warmupSteps, stepSize,
        stepGamma, epochs, maxSteps, seed, kernels, pushPrecision, 0);
  }

  /** A job with exact {@link PushPrecision#FP32} pushes. */
  public TrainingConfig(String dataset, int batch, int microShards, double learningRate, double momentum,
      double weightDecay, LearningRateSchedule.Kind schedule, int warmupSteps, int stepSize, double stepGamma,
      int epochs, long maxSteps, long seed, String kernels) {
    this(dataset, batch, microShards, learningRate, momentum, weightDecay, schedule, warmupSteps, stepSize,
        stepGamma, epochs, maxSteps, seed, kernels, PushPrecision.FP32);
  }

  public TrainingConfig {
    java.util.Objects.requireNonNull(pushPrecision, "pushPrecision");
    if (batch <= 0) {
      throw new IllegalArgumentException("batch must be positive, got " + batch);
    }
    int maxShards = Math.min(batch, FixedPoint.MAX_TERMS);
    if (microShards <= 0 || microShards > maxShards) {
      throw new IllegalArgumentException(
          "micro-shards must be in 1.." + maxShards + " (at most the batch and "
              + FixedPoint.MAX_TERMS + "), got " + microShards);
    }
    if (epochs <= 0) {
      throw new IllegalArgumentException("epochs must be positive, got " + epochs);
    }
    if (stepSize < 0) {
      throw new IllegalArgumentException("step size must be >= 0, got " + stepSize);
    }
    if (maxSteps < 0) {
      throw new IllegalArgumentException("max-steps must be >= 0, got " + maxSteps);
    }
    if (staleness < 0 || staleness > MAX_STALENESS) {
      throw new IllegalArgumentException("staleness must be in 0.." + MAX_STALENESS + ", got " + staleness);
    }
  }

  /** This job with staleness {@code k}. */
  public TrainingConfig withStaleness(int k) {
    return new TrainingConfig(dataset, batch, microShards, learningRate, momentum, weightDecay, schedule, warmupSteps,
        stepSize, stepGamma, epochs, maxSteps, seed, kernels, pushPrecision, k);
  }

  /** The weights version step {@code step} computes its gradient on: {@code max(0, step - K)}. */
  public long weightsVersionOf(long step) {
    return Math.max(0, step - staleness);
  }

  /** Steps the job runs on a training set of {@code n} rows: epochs, capped by max-steps. */
  public long totalSteps(int n) {
    long perEpoch = n / batch;
    long steps = perEpoch * epochs;
    return maxSteps > 0 ? Math.min(steps, maxSteps) : steps;
  }

  /**
   * The schedule for a job of {@code totalSteps} steps; a step size of 0 means one epoch of
   * {@code stepsPerEpoch} steps.
   */
  public LearningRateSchedule scheduleFor(long totalSteps, int stepsPerEpoch) {
    int size = stepSize > 0 ? stepSize : Math.max(1, stepsPerEpoch);
    return new LearningRateSchedule(schedule, learningRate, totalSteps, warmupSteps, size, stepGamma);
  }

  public TrainConfig toProto() {
    return TrainConfig.newBuilder()
        .setDataset(dataset)
        .setBatch(batch)
        .setMicroShards(microShards)
        .setLearningRate(learningRate)
        .setMomentum(momentum)
        .setWeightDecay(weightDecay)
        .setSchedule(schedule.id())
        .setWarmupSteps(warmupSteps)
        .setStepSize(stepSize)
        .setStepGamma(stepGamma)
        .setEpochs(epochs)
        .setMaxSteps(maxSteps)
        .setSeed(seed)
        .setKernels(kernels)
        .setPushPrecision(pushPrecision.id())
        .setStaleness(staleness)
        .build();
  }

  public static TrainingConfig fromProto(TrainConfig p) {
    return new TrainingConfig(
        p.getDataset(),
        p.getBatch(),
        p.getMicroShards(),
        p.getLearningRate(),
        p.getMomentum(),
        p.getWeightDecay(),
        LearningRateSchedule.Kind.parse(p.getSchedule()),
        p.getWarmupSteps(),
        p.getStepSize(),
        p.getStepGamma(),
        p.getEpochs(),
        p.getMaxSteps(),
        p.getSeed(),
        p.getKernels(),
        PushPrecision.parse(p.getPushPrecision()),
        p.getStaleness());
  }
}
