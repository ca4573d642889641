package io.gradflow.common.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.gradflow.common.data.SyntheticData;
import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.optim.LearningRateSchedule;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The job's record: each step told, each epoch's mean loss over its own steps (the last epoch may
 * be short), the test set evaluated at the end of each epoch, and a resumed epoch that continues
 * its mean.
 */
class EpochBookkeepingTest {
  private static final TrainTestSplit DATA = SyntheticData.spirals(3, 100, 0.2, 42); // 300 training rows, 75 test rows
  private final Network net = Network.initialize(ModelSpec.parse("2-5-3", "tanh", "", 5));
  private final List<String> told = new ArrayList<>();
  private final TrainingListener recorder = new TrainingListener() {
    @Override
    public void onStart(JobInfo job) {
      told.add("start " + job.workers() + " workers, " + job.totalSteps() + " steps of " + job.stepsPerEpoch()
          + " per epoch from " + job.firstStep() + ", " + job.trainCount() + "/" + job.testCount() + " rows");
    }

    @Override
    public void onStep(long step, int epoch, double loss, float learningRate, Gradients gradient) {
      told.add("step " + step + " epoch " + epoch + " loss " + loss);
    }

    @Override
    public void onEpoch(int epoch, long step, Evaluator.Result test, double trainLoss) {
      told.add("epoch " + epoch + " after step " + step + " mean " + trainLoss + " on " + test.count() + " test rows");
    }

    @Override
    public void onFinish(Network n, long steps, Evaluator.Result test, double trainLoss) {
      told.add("finish " + steps + " mean " + trainLoss + " on " + test.count() + " test rows");
    }
  };

  /** Batch 80: 3 steps per epoch; {@code maxSteps} caps the job. */
  private TrainingSetup setup(int epochs, long maxSteps) {
    return TrainingSetup.of(net, new TrainingConfig("spirals", 80, 4, 0.1, 0.9, 0, LearningRateSchedule.Kind.CONSTANT, 0,
        0, 0.1, epochs, maxSteps, 1, "ejml"), DATA.train().count());
  }

  private void run(EpochBookkeeping epochs, long from, long to) {
    for (long s = from; s < to; s++) {
      epochs.stepApplied(s, s + 1, 0.1f, null);
      epochs.endEpochIfDue(s, net);
    }
  }

  @Test
  void eachEpochReportsTheMeanLossOfItsOwnStepsAndTheLastMayBeShort() {
    TrainingSetup setup = setup(2, 5);
    assertEquals(3, setup.plan().stepsPerEpoch());
    assertEquals(5, setup.totalSteps());
    EpochBookkeeping epochs = new EpochBookkeeping(setup, DATA, recorder);
    epochs.start(net.spec(), 2, 0);
    run(epochs, 0, 5);
    epochs.finish(net, 5);
    assertEquals(List.of(
        "start 2 workers, 5 steps of 3 per epoch from 0, 300/75 rows",
        "step 0 epoch 0 loss 1.0", "step 1 epoch 0 loss 2.0", "step 2 epoch 0 loss 3.0",
        "epoch 0 after step 2 mean 2.0 on 75 test rows",
        "step 3 epoch 1 loss 4.0", "step 4 epoch 1 loss 5.0",
        "epoch 1 after step 4 mean 4.5 on 75 test rows",
        "finish 5 mean 4.5 on 75 test rows"), told);
  }

  @Test
  void aResumedEpochContinuesItsMean() {
    EpochBookkeeping first = new EpochBookkeeping(setup(1, 0), DATA, recorder);
    run(first, 0, 2);
    EpochBookkeeping resumed = new EpochBookkeeping(setup(1, 0), DATA, recorder);
    resumed.restore(first.epochLossSum(), first.epochSteps());
    assertEquals(List.of(3.0, 2), List.of(resumed.epochLossSum(), resumed.epochSteps()));
    told.clear();
    run(resumed, 2, 3);
    assertEquals("epoch 0 after step 2 mean 2.0 on 75 test rows", told.get(1));
  }

  @Test
  void aJobWithNoStepLeftIsEvaluatedAtTheFinish() {
    EpochBookkeeping epochs = new EpochBookkeeping(setup(1, 0), DATA, recorder);
    epochs.finish(net, 3);
    assertEquals(List.of("finish 3 mean NaN on 75 test rows"), told);
  }

  @Test
  void theStepLossIsTheMeanOverTheGlobalBatch() {
    assertEquals(0.25, EpochBookkeeping.meanLoss(new double[] {1, 2, 3, 4}, 40));
  }
}
