package io.gradflow.ps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** A job's life: work only while started and not paused; the first failure or roll-back wins; a finished job neither fails nor rolls back. */
class JobPhaseTest {
  private final JobPhase phase = new JobPhase();

  @Test
  void workIsHandedOutOnlyWhileStartedAndNotPaused() {
    assertTrue(phase.waitingForWorkers());
    assertFalse(phase.handsOutWork());
    phase.start();
    assertTrue(phase.handsOutWork());
    assertTrue(phase.pause(), "the first pause is worth telling");
    assertFalse(phase.pause(), "a second is not");
    assertFalse(phase.handsOutWork());
    assertTrue(phase.waitingForWorkers());
    assertTrue(phase.resume());
    assertFalse(phase.resume());
    assertTrue(phase.handsOutWork());
  }

  @Test
  void theFirstFailureIsKeptAndEndsTheCoordinatorsPart() {
    phase.start();
    assertTrue(phase.stepsClose());
    assertFalse(phase.over());
    assertTrue(phase.fail("worker 1: non-finite gradient"));
    assertFalse(phase.fail("later"));
    assertEquals("worker 1: non-finite gradient", phase.failure());
    assertFalse(phase.stepsClose());
    assertTrue(phase.over());
    assertFalse(phase.rollBack("a follower restarted"), "a failed job does not roll back");
    assertNull(phase.rollBackReason());
  }

  @Test
  void aFinishedJobNeitherFailsNorRollsBackUnlessItsFinalSaveFailed() {
    phase.start();
    phase.end();
    assertFalse(phase.stepsClose(), "no step closes after the last one");
    assertFalse(phase.over(), "the background work still runs");
    phase.finish();
    assertTrue(phase.over());
    assertFalse(phase.fail("late"));
    assertFalse(phase.rollBack("late"));
    assertNull(phase.failure());
    phase.unfinish();
    assertTrue(phase.fail("cannot write the model"));
    assertEquals("cannot write the model", phase.failure());
  }

  @Test
  void aRollBackIsFinalForThisCoordinator() {
    phase.start();
    assertTrue(phase.rollBack("server 2 lost its state"));
    assertFalse(phase.rollBack("server 3 lost its state"));
    assertEquals("server 2 lost its state", phase.rollBackReason());
    assertTrue(phase.over());
  }
}
