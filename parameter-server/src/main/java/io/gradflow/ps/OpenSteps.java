package io.gradflow.ps;

import io.gradflow.common.data.SamplingPlan;
import io.gradflow.common.model.Network;
import io.gradflow.common.reduce.ExactGradientSum;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * The steps open at once: in a job with staleness K, step {@code t} is open once the weights it
 * computes on, version {@code max(0, t - K)}, exist, so steps {@code applied .. applied + K} are
 * open together (K = 0: the one synchronous step). Each open step has its own micro-shard
 * assignment and its own exact sum; steps close strictly in order, a complete step waiting for its
 * predecessors. Guarded by the coordinator's lock; it does not lock itself.
 */
final class OpenSteps {
  /** One open step: who computes what of it, and the exact sum of what is in. */
  record Step(long step, MicroShardAssignment assignment, ExactGradientSum sum) {}

  private final int staleness;
  private final int microShards;
  private final Deque<Step> open = new ArrayDeque<>();
  /** Assignments and sums of closed steps, reused (a closed step's sum was cleared by the update). */
  private final Deque<MicroShardAssignment> spareAssignments = new ArrayDeque<>();
  private final Deque<ExactGradientSum> spareSums = new ArrayDeque<>();
  private final List<MicroShardAssignment> all = new ArrayList<>();
  private long applied;

  /** The open steps of a job at {@code applied} applied steps with staleness {@code staleness}; none open yet. */
  OpenSteps(SamplingPlan plan, int backupWorkers, int staleness, Network shape, long applied) {
    this.staleness = staleness;
    this.microShards = plan.microShards();
    this.applied = applied;
    for (int i = 0; i <= staleness; i++) {
      MicroShardAssignment a = new MicroShardAssignment(plan, backupWorkers);
      all.add(a);
      spareAssignments.add(a);
      spareSums.add(new ExactGradientSum(shape));
    }
  }

  /** A job with sharded servers: see {@link MicroShardAssignment#keepItemsApart()}. */
  void keepItemsApart() {
    for (MicroShardAssignment a : all) {
      a.keepItemsApart();
    }
  }

  int microShards() {
    return microShards;
  }

  /** Steps applied so far: the next step to close. */
  long applied() {
    return applied;
  }

  /**
   * Opens every step up to {@code min(applied + K, lastStep)} not open yet, its micro-shards cut
   * among {@code workers}; returns how many opened.
   */
  int openDue(long lastStep, List<Member> workers) {
    long next = open.isEmpty() ? applied : open.peekLast().step() + 1;
    long last = Math.min(applied + staleness, lastStep);
    // An int-counted loop (at most K + 1 steps): C2 guards a long-counted one with a loop-limit
    // check that failed once in a job's first epoch, and every such trap recompiled the server's
    // whole exchange path (docs/performance.md#warm-up).
    int opened = (int) Math.max(0, last - next + 1);
    for (int i = 0; i < opened; i++) {
      MicroShardAssignment a = spareAssignments.poll();
      a.open(workers);
      open.addLast(new Step(next + i, a, spareSums.poll()));
    }
    return opened;
  }

  /** The open step {@code step}, or null when it is closed or not open yet. */
  Step get(long step) {
    for (Step s : open) {
      if (s.step() == step) {
        return s;
      }
    }
    return null;
  }

  /** The open steps, earliest first. */
  Iterable<Step> inOrder() {
    return open;
  }

  /** The earliest open step, or null. */
  Step first() {
    return open.peekFirst();
  }

  /** The last open step, or {@code applied - 1} when none is open. */
  long lastOpen() {
    return open.isEmpty() ? applied - 1 : open.peekLast().step();
  }

  /** True when every micro-shard of the earliest open step is in: it can close. */
  boolean firstComplete() {
    Step s = open.peekFirst();
    return s != null && s.assignment().complete();
  }

  /** The earliest open step was applied: it closes, and its assignment and (cleared) sum are kept for a later step. */
  void closeFirst() {
    Step s = open.removeFirst();
    spareAssignments.addLast(s.assignment());
    spareSums.addLast(s.sum());
    applied++;
  }

  /** Backup copies handed out in the job, over all steps. */
  long backupCopies() {
    long n = 0;
    for (MicroShardAssignment a : all) {
      n += a.backupCopies();
    }
    return n;
  }
}
