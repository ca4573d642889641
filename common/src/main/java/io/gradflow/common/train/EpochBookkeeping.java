package io.gradflow.common.train;

import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;

/**
 * The running record of a job, the same in the single-process trainer and the parameter server:
 * the loss of each step, the mean loss of each epoch, the test set evaluated at the end of every
 * epoch (and of the job), and the listener told of each. Not thread-safe: one caller at a time
 * (the server hands {@link #report} and {@link #finish} to its background thread, in order, after
 * {@link #close} under its lock).
 */
public final class EpochBookkeeping {
  private final TrainingSetup setup;
  private final TrainTestSplit data;
  private final TrainingListener listener;
  private double epochLossSum;
  private int epochSteps;
  private double lastEpochLoss = Double.NaN;
  private Evaluator.Result lastTest;

  public EpochBookkeeping(TrainingSetup setup, TrainTestSplit data, TrainingListener listener) {
    this.setup = setup;
    this.data = data;
    this.listener = listener;
  }

  /**
   * The mean loss of a step's global batch: {@code sum(shardLoss) / B}, added in micro-shard
   * order, so the reported loss is as deterministic as the weights.
   */
  public static double meanLoss(double[] shardLoss, int batch) {
    double sum = 0;
    for (double l : shardLoss) {
      sum += l;
    }
    return sum / batch;
  }

  /** Continues an epoch a checkpoint interrupted: the loss sum and count of its steps so far. */
  public void restore(double epochLossSum, int epochSteps) {
    this.epochLossSum = epochLossSum;
    this.epochSteps = epochSteps;
  }

  /** The loss sum of the unfinished epoch's steps (for a checkpoint). */
  public double epochLossSum() {
    return epochLossSum;
  }

  /** The number of steps of the unfinished epoch (for a checkpoint). */
  public int epochSteps() {
    return epochSteps;
  }

  /** Tells the listener the job starts at step {@code firstStep} with {@code workers} workers (0: one process). */
  public void start(ModelSpec spec, int workers, long firstStep) {
    listener.onStart(jobInfo(spec, workers, firstStep));
  }

  /** What {@link #start} tells the listener. */
  public JobInfo jobInfo(ModelSpec spec, int workers, long firstStep) {
    return new JobInfo(spec, setup.config(), workers, setup.totalSteps(), setup.plan().stepsPerEpoch(),
        data.train().count(), data.test().count(), firstStep);
  }

  /** Step {@code step} (0-based) was applied with mean loss {@code loss} and rate {@code lr}: tells the listener, adds it to the epoch. */
  /** Whether the listener reads step {@code step}'s gradient (else the update need not write it). */
  public boolean readsGradient(long step) {
    return listener.readsGradient(step);
  }

  public void stepApplied(long step, double loss, float lr, Gradients gradient) {
    listener.onStep(step, setup.plan().epochOf(step), loss, lr, gradient);
    epochLossSum += loss;
    epochSteps++;
  }

  /** True when step {@code step} (0-based) is the last of its epoch or of the job. */
  public boolean endsEpoch(long step) {
    return endsEpoch(step, setup.plan().stepsPerEpoch(), setup.totalSteps());
  }

  /** True when step {@code step} (0-based) is the last of its epoch or of a job of {@code totalSteps}. */
  public static boolean endsEpoch(long step, int stepsPerEpoch, long totalSteps) {
    return (step + 1) % stepsPerEpoch == 0 || step + 1 == totalSteps;
  }

  /**
   * Ends the epoch of step {@code step}: evaluates {@code net} on the test set and tells the
   * listener with the epoch's mean loss; returns the test result. The same as {@link #report}
   * of {@link #close}.
   */
  public Evaluator.Result endEpoch(long step, Network net) {
    return report(close(step), net);
  }

  /** Ends the epoch when step {@code step} (0-based) was its last (see {@link #endEpoch}); returns the test result, or null. */
  public Evaluator.Result endEpochIfDue(long step, Network net) {
    return endsEpoch(step) ? endEpoch(step, net) : null;
  }

  /** An epoch whose training is over and whose test evaluation is still to come: its index, last step and mean loss. */
  public record ClosedEpoch(int epoch, long step, double trainLoss) {}

  /**
   * The bookkeeping half of ending the epoch of step {@code step}: takes its mean loss and starts
   * the next epoch's sum. Cheap; the test evaluation, {@link #report}, may run later on another
   * thread, on a copy of the weights, as long as reports come in the order of the epochs and
   * before {@link #finish}.
   */
  public ClosedEpoch close(long step) {
    ClosedEpoch closed = new ClosedEpoch(setup.plan().epochOf(step), step, epochLossSum / epochSteps);
    epochLossSum = 0;
    epochSteps = 0;
    return closed;
  }

  /** Evaluates {@code net} (the weights at the end of {@code epoch}) on the test set and tells the listener; returns the result. */
  public Evaluator.Result report(ClosedEpoch epoch, Network net) {
    lastTest = setup.evaluator().evaluate(net, data.test());
    lastEpochLoss = epoch.trainLoss();
    listener.onEpoch(epoch.epoch(), epoch.step(), lastTest, lastEpochLoss);
    return lastTest;
  }

  /** The job ended after {@code steps} steps: tells the listener with the last test result (evaluated now if no epoch ended). */
  public void finish(Network net, long steps) {
    if (lastTest == null) {
      lastTest = setup.evaluator().evaluate(net, data.test());
    }
    listener.onFinish(net, steps, lastTest, lastEpochLoss);
  }
}
