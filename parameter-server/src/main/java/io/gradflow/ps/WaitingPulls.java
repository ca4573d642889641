package io.gradflow.ps;

import io.gradflow.proto.PullRequest;
import java.util.ArrayList;
import java.util.List;

/**
 * Pulls that wait for their step. No thread waits with them: whoever changes the job (a step
 * opens, a worker leaves, the job ends) answers those that can be answered now. Guarded by the
 * coordinator's lock; it does not lock itself.
 */
final class WaitingPulls {
  /**
   * A parked pull of {@code member}, answered NOT_YET at {@code deadlineNanos} at the latest. A
   * class, not a record: a waiter is equal only to itself, which is what {@code waiters.remove}
   * needs; a record's {@code equals} would compare the requests field by field, and its first call
   * spins the record's method handles at the job's first step, where every worker waits.
   */
  static final class Waiter {
    private final Member member;
    private final PullRequest request;
    private final long deadlineNanos;
    private final PullAnswer answer;

    Waiter(Member member, PullRequest request, long deadlineNanos, PullAnswer answer) {
      this.member = member;
      this.request = request;
      this.deadlineNanos = deadlineNanos;
      this.answer = answer;
    }

    Member member() {
      return member;
    }

    PullRequest request() {
      return request;
    }

    long deadlineNanos() {
      return deadlineNanos;
    }

    PullAnswer answer() {
      return answer;
    }
  }

  /** What a waiting pull gets now: an answer, null to keep waiting, or a thrown {@link JobRefusal}. */
  interface Answers {
    Pull answerFor(Member m, PullRequest request);
  }

  private final List<Waiter> waiters = new ArrayList<>();

  void park(Member m, PullRequest request, long deadlineNanos, PullAnswer answer) {
    waiters.add(new Waiter(m, request, deadlineNanos, answer));
  }

  /** Forgets a waiting pull (its call was cancelled). */
  void cancel(PullAnswer answer) {
    waiters.removeIf(w -> w.answer() == answer);
  }

  /** Answers (or fails) every waiting pull that {@code answers} has an answer for now; returns how many left the queue. */
  int answerReady(long nowNanos, Answers answers) {
    if (waiters.isEmpty()) {
      return 0;
    }
    int n = 0;
    for (Waiter w : new ArrayList<>(waiters)) {
      Pull p;
      try {
        p = answers.answerFor(w.member(), w.request());
      } catch (JobRefusal e) {
        waiters.remove(w);
        w.answer().fail(e);
        n++;
        continue;
      }
      if (p != null) {
        waiters.remove(w);
        w.member().seen(nowNanos);
        w.answer().answer(p);
        n++;
      }
    }
    return n;
  }

  /** Answers NOT_YET at {@code step} to every pull that waited past its deadline; returns how many. */
  int answerOverdue(long nowNanos, long step) {
    int n = 0;
    for (Waiter w : new ArrayList<>(waiters)) {
      if (nowNanos - w.deadlineNanos() >= 0) {
        waiters.remove(w);
        w.member().seen(nowNanos);
        w.answer().answer(Pull.notYet(step));
        n++;
      }
    }
    return n;
  }

  /** Fails every waiting pull with {@code why}. */
  void failAll(JobRefusal why) {
    List<Waiter> all = new ArrayList<>(waiters);
    waiters.clear();
    for (Waiter w : all) {
      w.answer().fail(why);
    }
  }
}
