package io.gradflow.common.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.data.SyntheticData;
import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.optim.LearningRateSchedule;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The single process's warm-up runs made-up steps on a thread of its own until it is finished,
 * shares nothing with the job beside it, and skips batches too large for a made-up set.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES) // a warm-up that never stops hangs finish()
class LocalWarmUpTest {
  private static final ModelSpec SPEC = ModelSpec.parse("2-32-32-3", "relu", "", 1);
  private static final TrainTestSplit SPIRALS = SyntheticData.spirals(3, 300, 0.2, 42);
  private static final long HEAP = 1L << 30;

  private static TrainingConfig config(int batch, int staleness) {
    return new TrainingConfig("spirals", batch, 3, 0.1, 0.9, 1e-4, LearningRateSchedule.Kind.COSINE, 0, 0, 0.1,
        3, 0, 3, "vector-512").withStaleness(staleness);
  }

  /** Waits (without a time limit that could fail a slow machine) until {@code warmUp} completed {@code steps}. */
  private static void awaitSteps(LocalWarmUp warmUp, long steps) throws InterruptedException {
    while (warmUp.steps() < steps) {
      assertTrue(warmUp.running(), "the warm-up stopped after " + warmUp.steps() + " steps");
      Thread.sleep(5);
    }
  }

  @Test
  void aWarmUpRunsMadeUpStepsUntilItIsFinished() throws InterruptedException {
    LocalWarmUp warmUp = LocalWarmUp.start(SPEC, config(30, 0), Long.MAX_VALUE, HEAP);
    awaitSteps(warmUp, 25); // past an evaluation, a kept gradient and several epoch starts
    warmUp.finish();
    assertFalse(warmUp.running());
    long steps = warmUp.steps();
    Thread.sleep(20);
    assertEquals(steps, warmUp.steps(), "no step after finish");
  }

  @Test
  void aJobTrainedBesideAWarmUpEndsOnTheSameBits() throws InterruptedException {
    for (int staleness : new int[] {0, 1}) {
      TrainingConfig config = config(30, staleness);
      Network alone = Network.initialize(SPEC);
      new LocalTrainer(alone, config, SPIRALS).run(new TrainingListener() {});

      LocalWarmUp warmUp = LocalWarmUp.start(SPEC, config, Long.MAX_VALUE, HEAP);
      awaitSteps(warmUp, 1);
      Network beside = Network.initialize(SPEC);
      new LocalTrainer(beside, config, SPIRALS).run(new TrainingListener() {});
      assertTrue(warmUp.running(), "the warm-up ran beside the whole job");
      warmUp.finish();
      assertEquals(alone.sha256(), beside.sha256(), "staleness " + staleness);
    }
  }

  @Test
  void aWarmUpStopsByItselfAfterItsLastStep() throws InterruptedException {
    LocalWarmUp warmUp = LocalWarmUp.start(SPEC, config(30, 0), 30, HEAP);
    while (warmUp.running()) {
      Thread.sleep(5);
    }
    assertEquals(30, warmUp.steps());
    warmUp.finish();
  }

  @Test
  void aBatchTooLargeForAMadeUpSetWarmsNothingUp() {
    ModelSpec wide = ModelSpec.parse("784-16-10", "relu", "", 1);
    int batch = (int) (LocalWarmUp.MAX_MADE_UP_VALUES / (2 * 784)) + 1;
    assertTrue(LocalWarmUp.worthRunning(wide, config(batch - 1, 0), HEAP));
    LocalWarmUp warmUp = LocalWarmUp.start(wide, config(batch, 0), LocalWarmUp.MAX_STEPS, HEAP);
    assertFalse(warmUp.running());
    warmUp.finish();
    assertEquals(0, warmUp.steps());
  }

  @Test
  void aModelLargeForTheHeapWarmsNothingUp() {
    ModelSpec fashion = ModelSpec.parse("784-256-128-10", "relu", "", 1);
    assertTrue(LocalWarmUp.worthRunning(fashion, config(128, 0), 256L << 20));
    assertFalse(LocalWarmUp.worthRunning(fashion, config(128, 0), 64L << 20), "a sixteenth of 64 MiB is 4 MiB");
    assertFalse(LocalWarmUp.worthRunning(ModelSpec.parse("4-4000000-3", "relu", "", 1), config(128, 0), 4L << 30));
  }
}
