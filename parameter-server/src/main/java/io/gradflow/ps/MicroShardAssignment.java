package io.gradflow.ps;

import io.gradflow.common.data.SamplingPlan;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Who computes which micro-shards of the open step: the step's work items (contiguous ranges, one
 * per worker in rank order), their hand-over when a worker is lost, backup copies for idle
 * workers, and which micro-shards are in with their losses. Guarded by the coordinator's lock; it
 * does not lock itself.
 */
final class MicroShardAssignment {
  private final SamplingPlan plan;
  private final int backupWorkers;
  private long backupCopies;
  private final List<WorkItem> items = new ArrayList<>();
  private final boolean[] covered;
  private final double[] shardLoss;
  private int coveredCount;
  /** Sharded servers: orphans are cut one by one, never merged with their neighbours (see {@link RangeFollower}). */
  private boolean keepItemsApart;

  /** @param backupWorkers how many extra copies of an unfinished item idle workers may get */
  MicroShardAssignment(SamplingPlan plan, int backupWorkers) {
    this.plan = plan;
    this.backupWorkers = backupWorkers;
    this.covered = new boolean[plan.microShards()];
    this.shardLoss = new double[plan.microShards()];
  }

  int microShards() {
    return covered.length;
  }

  /**
   * A job with sharded servers: a lost worker's items are cut into smaller items one by one, never
   * merged with neighbouring orphans, so every item is part of an item handed out before, and a
   * follower that has some of an item's micro-shards has all of them.
   */
  void keepItemsApart() {
    keepItemsApart = true;
  }

  /** A new step: nothing is in, and the micro-shards are cut contiguously among {@code workers} in rank order. */
  void open(List<Member> workers) {
    Arrays.fill(covered, false);
    coveredCount = 0;
    items.clear();
    int n = workers.size();
    for (int i = 0; i < n; i++) {
      items.add(new WorkItem(plan.firstShard(i, n), plan.firstShard(i + 1, n), workers.get(i).id));
    }
  }

  /**
   * The unfinished item {@code m} should compute: one assigned to it, or, with backup workers, a
   * copy of the unfinished item with the fewest copies (then {@code m} is one of its assignees).
   * Micro-shards {@code [pushedFirst, pushedEnd)} are on their way from this worker: not them.
   * Null when there is nothing for it.
   */
  WorkItem workFor(Member m, int pushedFirst, int pushedEnd) {
    for (WorkItem item : items) {
      boolean inFlight = item.first == pushedFirst && item.end == pushedEnd;
      if (!item.done && item.assignees.contains(m.id) && !inFlight) {
        return item;
      }
    }
    if (backupWorkers > 0) {
      WorkItem best = null;
      for (WorkItem item : items) {
        if (!item.done && !item.assignees.contains(m.id) && item.assignees.size() <= backupWorkers
            && (best == null || item.assignees.size() < best.assignees.size())) {
          best = item;
        }
      }
      if (best != null) {
        best.assignees.add(m.id);
        backupCopies++;
        return best;
      }
    }
    return null;
  }

  /** Backup copies handed out so far in the job. */
  long backupCopies() {
    return backupCopies;
  }

  /**
   * {@code lost} is gone: the unfinished items only it computed go to {@code survivors} (see
   * {@link #reassign}); returns those items as they were, or an empty list.
   */
  List<WorkItem> handOver(Member lost, List<Member> survivors) {
    for (WorkItem item : items) {
      item.assignees.remove(lost.id);
    }
    List<WorkItem> orphans = orphans();
    reassign(orphans, survivors);
    return orphans;
  }

  /** The unfinished items nobody computes. */
  List<WorkItem> orphans() {
    List<WorkItem> orphans = new ArrayList<>();
    for (WorkItem item : items) {
      if (!item.done && item.assignees.isEmpty()) {
        orphans.add(item);
      }
    }
    return orphans;
  }

  /**
   * Splits the micro-shards of {@code orphans} among {@code workers}: each contiguous run of them
   * is cut into at most one piece per worker, in rank order. With no workers they stay orphans.
   */
  void reassign(List<WorkItem> orphans, List<Member> workers) {
    if (orphans.isEmpty() || workers.isEmpty()) {
      return;
    }
    items.removeAll(orphans);
    if (keepItemsApart) {
      for (WorkItem item : orphans) {
        cut(item.first, item.end - item.first, workers);
      }
      return;
    }
    List<Integer> shards = new ArrayList<>();
    for (WorkItem item : orphans) {
      for (int i = item.first; i < item.end; i++) {
        shards.add(i);
      }
    }
    int runStart = 0;
    for (int k = 1; k <= shards.size(); k++) {
      if (k == shards.size() || shards.get(k) != shards.get(k - 1) + 1) {
        cut(shards.get(runStart), k - runStart, workers);
        runStart = k;
      }
    }
  }

  /** Micro-shards {@code [first, first + count)} as at most one new item per worker, in rank order. */
  private void cut(int first, int count, List<Member> workers) {
    int parts = Math.min(count, workers.size());
    for (int p = 0; p < parts; p++) {
      int a = first + (int) ((long) p * count / parts);
      int b = first + (int) ((long) (p + 1) * count / parts);
      items.add(new WorkItem(a, b, workers.get(p).id));
    }
  }

  /** The item {@code [first, end)} assigned to {@code m} (as owner or copy), or null. */
  WorkItem itemOf(Member m, int first, int end) {
    for (WorkItem item : items) {
      if (item.first == first && item.end == end && item.assignees.contains(m.id)) {
        return item;
      }
    }
    return null;
  }

  /** The ranges assigned to {@code m}, for messages: "[0, 2), [4, 5)" or "no micro-shards". */
  String assignedTo(Member m) {
    List<String> ranges = new ArrayList<>();
    for (WorkItem item : items) {
      if (item.assignees.contains(m.id)) {
        ranges.add(item.toString());
      }
    }
    return ranges.isEmpty() ? "no micro-shards" : String.join(", ", ranges);
  }

  /** True when every micro-shard of {@code [first, end)} is in. */
  boolean allCovered(int first, int end) {
    for (int i = first; i < end; i++) {
      if (!covered[i]) {
        return false;
      }
    }
    return true;
  }

  /**
   * {@code item} was pushed with the losses of its micro-shards ({@code losses.get(i)} for micro-shard
   * {@code item.first + i}); returns true when it completed the step.
   */
  boolean markDone(WorkItem item, List<Double> losses) {
    item.done = true;
    for (int i = item.first; i < item.end; i++) {
      covered[i] = true;
      shardLoss[i] = losses.get(i - item.first);
      coveredCount++;
    }
    return coveredCount == covered.length;
  }

  /** True when no micro-shard of the step is in yet (its sum is still zero). */
  boolean noneIn() {
    return coveredCount == 0;
  }

  /** True when every micro-shard of the step is in. */
  boolean complete() {
    return coveredCount == covered.length;
  }

  /** The loss of each micro-shard of the step, in micro-shard order (live: read it before the next step opens). */
  double[] shardLosses() {
    return shardLoss;
  }
}
