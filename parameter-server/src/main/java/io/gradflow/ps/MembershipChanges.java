package io.gradflow.ps;

import io.gradflow.common.train.TrainingListener;
import java.util.List;

/**
 * What a running job does when its workers come and go: a lost worker's unfinished micro-shards
 * of every open step go to the live workers at once, the job pauses while fewer than {@code
 * --min-workers} are live, and when enough are back the micro-shards nobody computes are handed
 * out and it resumes. It tells the listener each change. Guarded by the coordinator's lock; the
 * coordinator answers the waiting pulls after each change ({@code changed()}).
 */
final class MembershipChanges {
  private final Membership membership;
  private final OpenSteps steps;
  private final JobPhase phase;
  private final int minWorkers;
  private final TrainingListener listener;

  MembershipChanges(Membership membership, OpenSteps steps, JobPhase phase, int minWorkers, TrainingListener listener) {
    this.membership = membership;
    this.steps = steps;
    this.phase = phase;
    this.minWorkers = minWorkers;
    this.listener = listener;
  }

  /**
   * Worker {@code m} is gone ({@code why}: a reason or empty). While steps run, its unfinished
   * micro-shards go to the live workers, and the job pauses when too few are left; after the job
   * finished, failed or began to roll back, it only left.
   */
  void lose(Member m, String why) {
    m.left = true;
    String reason = why.isEmpty() ? "" : " (" + why + ")";
    if (!phase.started() || phase.over() || phase.ending()) { // nothing to hand over, no pause to tell
      listener.onEvent("left: " + m + reason);
      return;
    }
    StringBuilder handed = new StringBuilder();
    for (OpenSteps.Step open : steps.inOrder()) {
      List<WorkItem> orphans = open.assignment().handOver(m, membership.readyMembers());
      if (!orphans.isEmpty()) {
        handed.append(handed.length() == 0 ? "; its micro-shards " : ", ").append(orphans).append(" of step ").append(open.step() + 1);
      }
    }
    listener.onEvent("lost: " + m + reason + "; " + membership.readyCount() + " live worker(s)"
        + (handed.length() == 0 ? "" : handed + " go to the others"));
    resumeIfEnoughWorkers();
  }

  /**
   * Pauses the job below {@code --min-workers}; with enough live workers, hands out the
   * micro-shards nobody computes and resumes. Returns false when it paused (nothing changed for
   * the waiting pulls), true otherwise.
   */
  boolean resumeIfEnoughWorkers() {
    int live = membership.readyCount();
    if (live < minWorkers) {
      if (phase.pause()) {
        listener.onEvent("waiting: " + live + " live worker(s), --min-workers " + minWorkers + "; the job pauses until more join");
      }
      return false;
    }
    for (OpenSteps.Step open : steps.inOrder()) {
      open.assignment().reassign(open.assignment().orphans(), membership.readyMembers());
    }
    if (phase.resume()) {
      listener.onEvent("resuming: " + live + " live worker(s)");
    }
    return true;
  }
}
