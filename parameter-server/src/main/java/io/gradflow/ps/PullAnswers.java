package io.gradflow.ps;

import io.gradflow.proto.PullRequest;

/**
 * How the coordinator answers the workers' pulls, under its lock: at once when the job has work
 * for the worker (the first open step with a micro-shard for it, computed on that step's version
 * of the weights), when it is over or when it refuses the worker; otherwise the pull waits in
 * {@link WaitingPulls} until a change of the job answers it, or NOT_YET at its deadline. No thread
 * waits with a pull, so the weights of a new step go out the moment it opens.
 */
final class PullAnswers {
  private final JobPhase phase;
  private final OpenSteps steps;
  private final WeightSnapshots snapshots;
  private final WaitingPulls waiting = new WaitingPulls();

  PullAnswers(JobPhase phase, OpenSteps steps, WeightSnapshots snapshots) {
    this.phase = phase;
    this.steps = steps;
    this.snapshots = snapshots;
  }

  /** Answers pull {@code request} of {@code m} now, or parks it until {@code deadlineNanos}; {@code step}: steps applied. */
  void pull(Member m, PullRequest request, long step, long deadlineNanos, PullAnswer answer) {
    Pull ready = answerFor(m, request, step);
    if (ready != null) {
      answer.answer(ready);
      return;
    }
    waiting.park(m, request, deadlineNanos, answer);
  }

  /** Forgets a waiting pull (its call was cancelled). */
  void cancel(PullAnswer answer) {
    waiting.cancel(answer);
  }

  /** Something changed: answers every waiting pull that has its answer now. */
  void answerReady(long nowNanos, long step) {
    waiting.answerReady(nowNanos, (m, request) -> answerFor(m, request, step));
  }

  /** Answers NOT_YET to every pull that waited past its deadline. */
  void answerOverdue(long nowNanos, long step) {
    waiting.answerOverdue(nowNanos, step);
  }

  /** The server stops: every waiting pull fails as SHUTTING_DOWN (its worker retries elsewhen). */
  void failWaiting() {
    waiting.failAll(JobRefusal.shuttingDown("server shutting down"));
  }

  /** What a worker that comes after the job finished is told: there is nothing left to compute. */
  static JobRefusal jobOver(long step) {
    return JobRefusal.jobOver("the job is over: it finished after step " + step);
  }

  /** What pull {@code request} of {@code m} gets now, or null when it must wait. */
  private Pull answerFor(Member m, PullRequest request, long step) {
    if (phase.failure() != null) {
      throw JobRefusal.jobStopped("the job stopped: " + phase.failure());
    }
    if (phase.finished()) {
      if (m.left) {
        throw jobOver(step); // declared lost (paused, cut off) and back after the job finished without it
      }
      return Pull.done(step);
    }
    if (phase.ending()) {
      return null; // done once the final report is written
    }
    if (m.left) {
      throw JobRefusal.rejoin(m + " was declared lost; join again");
    }
    if (phase.handsOutWork()) {
      for (OpenSteps.Step open : steps.inOrder()) {
        boolean afterPush = request.getStep() == open.step() + 1; // its push of this step may still be on its way
        WorkItem item = open.assignment().workFor(m, afterPush ? request.getPushedFirst() : 0, afterPush ? request.getPushedEnd() : 0);
        if (item != null) {
          long version = snapshots.versions().versionFor(open.step());
          return m.sharedMemory ? Pull.readyInSharedMemory(open.step(), version, item)
              : Pull.ready(open.step(), version, item, snapshots.chunksOf(version));
        }
      }
    }
    return null;
  }
}
