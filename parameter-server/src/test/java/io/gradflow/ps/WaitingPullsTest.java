package io.gradflow.ps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.proto.PullRequest;
import io.gradflow.proto.WeightsHeader;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A parked pull is answered once: when its answer exists, NOT_YET at its deadline, or failed (refused, server stopping). */
class WaitingPullsTest {
  private final WaitingPulls waiting = new WaitingPulls();
  private final Member a = new Member("a", 0, "a", 0);
  private final Member b = new Member("b", 1, "b", 0);

  /** Records what a pull was told. */
  private static final class Recorded implements PullAnswer {
    final List<Object> told = new ArrayList<>();

    @Override
    public void answer(Pull pull) {
      told.add(pull);
    }

    @Override
    public void fail(JobRefusal refusal) {
      told.add(refusal);
    }
  }

  private static PullRequest request(Member m) {
    return PullRequest.newBuilder().setWorkerId(m.id).setStep(3).build();
  }

  @Test
  void aPullIsAnsweredWhenItsAnswerExistsAndOnlyOnce() {
    Recorded forA = new Recorded();
    Recorded forB = new Recorded();
    waiting.park(a, request(a), 1_000, forA);
    waiting.park(b, request(b), 1_000, forB);
    assertEquals(0, waiting.answerReady(10, (m, r) -> null), "no answer yet: both keep waiting");
    Pull ready = Pull.notYet(7);
    assertEquals(1, waiting.answerReady(20, (m, r) -> m == a ? ready : null));
    assertEquals(List.of(ready), forA.told);
    assertEquals(20, a.lastSeenNanos, "an answered pull is a sign of life");
    assertEquals(1, waiting.answerReady(30, (m, r) -> ready));
    assertEquals(List.of(ready), forA.told, "a was answered already");
    assertEquals(List.of(ready), forB.told);
    assertEquals(0, waiting.answerReady(40, (m, r) -> ready));
  }

  @Test
  void aRefusedPullFails() {
    Recorded forA = new Recorded();
    waiting.park(a, request(a), 1_000, forA);
    JobRefusal stop = JobRefusal.jobStopped("the job stopped: test");
    waiting.answerReady(5, (m, r) -> {
      throw stop;
    });
    assertEquals(List.of(stop), forA.told);
    assertEquals(0, waiting.answerReady(6, (m, r) -> Pull.done(1)), "failed pulls leave the queue");
  }

  @Test
  void aPullPastItsDeadlineGetsNotYetAtTheOpenStep() {
    Recorded forA = new Recorded();
    Recorded forB = new Recorded();
    waiting.park(a, request(a), 100, forA);
    waiting.park(b, request(b), 200, forB);
    assertEquals(0, waiting.answerOverdue(99, 4));
    assertEquals(1, waiting.answerOverdue(100, 4));
    Pull notYet = (Pull) forA.told.get(0);
    assertEquals(WeightsHeader.State.NOT_YET, notYet.state());
    assertEquals(4, notYet.step());
    assertEquals(100, a.lastSeenNanos);
    assertEquals(List.of(), forB.told);
  }

  @Test
  void whenTheServerStopsEveryWaitingPullFailsAndACancelledOneIsForgotten() {
    Recorded forA = new Recorded();
    Recorded forB = new Recorded();
    waiting.park(a, request(a), 1_000, forA);
    waiting.park(b, request(b), 1_000, forB);
    waiting.cancel(forB);
    JobRefusal down = JobRefusal.shuttingDown("server shutting down");
    waiting.failAll(down);
    assertEquals(1, forA.told.size());
    assertSame(down, forA.told.get(0));
    assertTrue(forB.told.isEmpty(), "cancelled: told nothing");
    assertEquals(0, waiting.answerOverdue(5_000, 0));
  }
}
