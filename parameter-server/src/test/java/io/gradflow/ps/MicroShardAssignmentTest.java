package io.gradflow.ps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.data.SamplingPlan;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The step's micro-shards cut contiguously in rank order, a lost worker's unfinished ones handed
 * to the survivors, backup copies for idle workers, and the step complete once every micro-shard is in.
 */
class MicroShardAssignmentTest {
  private static final SamplingPlan PLAN = new SamplingPlan(300, 32, 8, 1);
  private final Member a = new Member("a", 0, "a", 0);
  private final Member b = new Member("b", 1, "b", 0);
  private final Member c = new Member("c", 2, "c", 0);

  private static MicroShardAssignment opened(int backupWorkers, Member... workers) {
    MicroShardAssignment assignment = new MicroShardAssignment(PLAN, backupWorkers);
    assignment.open(List.of(workers));
    return assignment;
  }

  private static List<Double> losses(int n) {
    return Collections.nCopies(n, 0.5);
  }

  /** Marks the item {@code m} would compute now as pushed; returns it. */
  private static WorkItem pushNext(MicroShardAssignment assignment, Member m) {
    WorkItem item = assignment.workFor(m, 0, 0);
    assignment.markDone(item, losses(item.size()));
    return item;
  }

  @Test
  void theMicroShardsAreCutContiguouslyInRankOrder() {
    MicroShardAssignment assignment = opened(0, a, b, c);
    assertEquals("[0, 2)", assignment.assignedTo(a));
    assertEquals("[2, 5)", assignment.assignedTo(b));
    assertEquals("[5, 8)", assignment.assignedTo(c));
    assertEquals("[2, 5)", assignment.workFor(b, 0, 0).toString());
    assertNull(assignment.workFor(b, 2, 5), "its push of [2, 5) is on its way: nothing else to do");
    assertSame(assignment.workFor(b, 0, 0), assignment.itemOf(b, 2, 5));
    assertNull(assignment.itemOf(a, 2, 5), "not a's micro-shards");
  }

  @Test
  void theStepIsCompleteWhenEveryMicroShardIsIn() {
    MicroShardAssignment assignment = opened(0, a, b);
    WorkItem first = assignment.workFor(a, 0, 0);
    assertFalse(assignment.markDone(first, List.of(1.0, 2.0, 3.0, 4.0)));
    assertTrue(assignment.allCovered(0, 4));
    assertFalse(assignment.allCovered(3, 5));
    assertNull(assignment.workFor(a, 0, 0), "a pushed its part");
    assertTrue(assignment.markDone(assignment.workFor(b, 0, 0), List.of(5.0, 6.0, 7.0, 8.0)));
    assertEquals(List.of(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0),
        java.util.Arrays.stream(assignment.shardLosses()).boxed().toList(), "in micro-shard order");
    assignment.open(List.of(a, b));
    assertFalse(assignment.allCovered(0, 1), "a new step starts empty");
  }

  @Test
  void aLostWorkersUnfinishedMicroShardsGoToTheSurvivorsInRankOrder() {
    MicroShardAssignment assignment = opened(0, a, b, c);
    pushNext(assignment, a);
    assertEquals("[[2, 5)]", assignment.handOver(b, List.of(a, c)).toString());
    assertEquals("[0, 2), [2, 3)", assignment.assignedTo(a), "a gets the first piece of b's run");
    assertEquals("[5, 8), [3, 5)", assignment.assignedTo(c));
    assertEquals("no micro-shards", assignment.assignedTo(b));
    assertEquals("[2, 3)", assignment.workFor(a, 0, 0).toString());
    assertEquals(List.of(), assignment.orphans());
  }

  @Test
  void aLostWorkersFinishedMicroShardsStayIn() {
    MicroShardAssignment assignment = opened(0, a, b);
    pushNext(assignment, b);
    assertEquals(List.of(), assignment.handOver(b, List.of(a)));
    assertEquals("[0, 4)", assignment.assignedTo(a));
    assertTrue(assignment.allCovered(4, 8));
  }

  @Test
  void withNoSurvivorsTheMicroShardsWaitAsOrphansForTheNextWorker() {
    MicroShardAssignment assignment = opened(0, a, b);
    assertEquals("[[0, 4)]", assignment.handOver(a, List.of()).toString());
    assertEquals("[[0, 4), [4, 8)]", assignment.handOver(b, List.of()).toString());
    assignment.reassign(assignment.orphans(), List.of(c));
    assertEquals(List.of(), assignment.orphans());
    assertEquals("[0, 8)", assignment.assignedTo(c), "one contiguous run, one worker: one piece");
  }

  @Test
  void withoutBackupWorkersAnIdleWorkerGetsNothing() {
    MicroShardAssignment assignment = opened(0, a, b);
    pushNext(assignment, a);
    assertNull(assignment.workFor(a, 0, 0));
  }

  @Test
  void anIdleWorkerGetsACopyOfTheUnfinishedItemWithTheFewestCopies() {
    MicroShardAssignment assignment = opened(1, a, b, c);
    pushNext(assignment, a);
    WorkItem copy = assignment.workFor(a, 0, 0);
    assertEquals("[2, 5)", copy.toString(), "the first unfinished item with the fewest copies");
    assertEquals(List.of("b", "a"), copy.assignees, "the owner first, then the copy");
    assertSame(copy, assignment.itemOf(a, 2, 5), "a may push it");
    assertSame(copy, assignment.workFor(a, 0, 0), "asked again, a keeps its copy");
    assertEquals("[5, 8)", assignment.workFor(a, 2, 5).toString(), "while its copy of [2, 5) travels, a copies the next");
  }

  @Test
  void anItemGetsAtMostBackupWorkersCopies() {
    Member d = new Member("d", 3, "d", 0);
    MicroShardAssignment assignment = opened(1, a, b, c, d);
    pushNext(assignment, a);
    pushNext(assignment, b);
    pushNext(assignment, c);
    assertEquals("[6, 8)", assignment.workFor(a, 0, 0).toString());
    assertNull(assignment.workFor(b, 0, 0), "d's item has its one backup copy already");
    assertTrue(assignment.markDone(assignment.itemOf(a, 6, 8), losses(2)), "the copy completes the step");
    assertNull(assignment.workFor(d, 0, 0), "done: the owner's push will be a duplicate");
  }

  @Test
  void inAShardedJobOrphansAreCutOneByOneNeverMerged() {
    // a [0, 2) and b [2, 5) are lost while nobody else is ready (the job pauses), then c takes over
    MicroShardAssignment merged = opened(0, a, b, c);
    merged.handOver(a, List.of());
    merged.handOver(b, List.of());
    merged.reassign(merged.orphans(), List.of(c));
    assertEquals("[5, 8), [0, 5)", merged.assignedTo(c), "one server: the orphans' run [0, 5) goes as one item");

    MicroShardAssignment apart = opened(0, a, b, c);
    apart.keepItemsApart();
    apart.handOver(a, List.of());
    apart.handOver(b, List.of());
    apart.reassign(apart.orphans(), List.of(c));
    assertEquals("[5, 8), [0, 2), [2, 5)", apart.assignedTo(c), "sharded servers: each item as it was handed out before");
  }
}
