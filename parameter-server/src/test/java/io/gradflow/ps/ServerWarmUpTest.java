package io.gradflow.ps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.train.TrainingConfig;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The server's warm-up started before the server is made (while its data loads): its passes by
 * the model's size, and a thread that runs them on weights of its own and ends.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ServerWarmUpTest {
  @Test
  void aLargeModelGetsFewerPassesButAtLeastThree() {
    assertEquals(60, ServerWarmUp.passes(235_146));
    assertEquals(60, ServerWarmUp.passes(250_000));
    assertEquals(30, ServerWarmUp.passes(500_000));
    assertEquals(3, ServerWarmUp.passes(5_000_001));
    assertEquals(3, ServerWarmUp.passes(40_000_000));
  }

  @Test
  void aStartedWarmUpRunsOnItsOwnThreadAndEnds() throws InterruptedException {
    ModelSpec spec = ModelSpec.parse("2-16-16-3", "relu", "", 1);
    TrainingConfig config = new TrainingConfig("spirals", 30, 3, 0.1, 0.9, 1e-4, LearningRateSchedule.Kind.COSINE, 0, 0,
        0.1, 3, 0, 3, "vector-512");
    Thread warmUp = ServerWarmUp.start(spec, config);
    assertNotEquals(Thread.State.NEW, warmUp.getState(), "started");
    assertTrue(warmUp.isDaemon(), "the server's end does not wait for it");
    assertEquals("gradflow-warmup", warmUp.getName());
    warmUp.join();
    assertFalse(warmUp.isAlive());
  }
}
