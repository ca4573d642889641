package io.gradflow.ps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.data.SyntheticData;
import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.train.Evaluator;
import io.gradflow.common.train.JobInfo;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.train.TrainingListener;
import io.gradflow.common.wire.PushCodec;
import io.gradflow.proto.JoinRequest;
import io.gradflow.proto.PullRequest;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.PushResponse;
import io.gradflow.proto.WeightsHeader;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The coordinator's rules for a job's life, without gRPC: a lost worker's micro-shards go to the
 * others, the job pauses below --min-workers and resumes when a worker joins, idle workers get
 * backup copies and the late original is a duplicate, waiting pulls are answered when a step
 * opens, at their deadline, or failed when the server stops.
 */
class StepCoordinatorTest {
  private static final TrainTestSplit DATA = SyntheticData.spirals(3, 100, 0.2, 42);
  private static final ModelSpec SPEC = ModelSpec.parse("2-5-3", "tanh", "", 5);
  /** Batch 20 in 4 micro-shards, 3 steps. */
  private static final TrainingConfig CONFIG = new TrainingConfig("spirals", 20, 4, 0.1, 0.9, 0,
      LearningRateSchedule.Kind.CONSTANT, 0, 0, 0.1, 1, 3, 9, "ejml");
  private final List<String> events = new ArrayList<>();
  private StepCoordinator coordinator;

  private void start(int workers, ServerPolicy policy) {
    start(workers, policy, CONFIG);
  }

  private void start(int workers, ServerPolicy policy, TrainingConfig config) {
    coordinator = new StepCoordinator(new ServerJob(Network.initialize(SPEC), config, DATA, workers), policy,
        new TrainingListener() {
          @Override
          public void onEvent(String message) {
            events.add(message);
          }
        });
  }

  private static ServerPolicy policy(int minWorkers, int backupWorkers) {
    return new ServerPolicy(minWorkers, backupWorkers, 60_000, 0, null);
  }

  private String join(String name) {
    String id = coordinator.admission().join(JoinRequest.newBuilder().setWorkerName(name).build()).getWorkerId();
    coordinator.admission().ready(id, DATA.train().sha256(), DATA.train().count());
    return id;
  }

  /** A pull; the future completes with its Pull, or with its JobRefusal as the failure. */
  private CompletableFuture<Pull> pull(String id, long step, int pushedFirst, int pushedEnd, long timeoutMillis) {
    CompletableFuture<Pull> told = new CompletableFuture<>();
    coordinator.pull(PullRequest.newBuilder().setWorkerId(id).setStep(step).setPushedFirst(pushedFirst)
        .setPushedEnd(pushedEnd).build(), timeoutMillis, new PullAnswer() {
          @Override
          public void answer(Pull p) {
            assertTrue(told.complete(p), "answered once");
          }

          @Override
          public void fail(JobRefusal refusal) {
            assertTrue(told.completeExceptionally(refusal), "answered once");
          }
        });
    return told;
  }

  private CompletableFuture<Pull> pull(String id, long step) {
    return pull(id, step, 0, 0, 60_000);
  }

  /** Pushes zero gradients of micro-shards {@code [first, end)} of step {@code step} (PACKED64). */
  private PushResponse push(String id, long step, int first, int end) {
    PushHeader.Builder h = PushHeader.newBuilder().setWorkerId(id).setStep(step).setShardFirst(first).setShardEnd(end)
        .setEncoding(PushHeader.Encoding.PACKED64);
    for (int i = first; i < end; i++) {
      h.addShardLoss(0.5);
    }
    PushSession push = coordinator.beginPush(h.build());
    Network shape = new Network(SPEC);
    for (int t = 0; t < shape.tensorCount(); t++) {
      PushCodec.packed64(t, new long[shape.tensor(t).length]).forEach(push::addChunk);
    }
    return coordinator.commitPush(push);
  }

  private static void assertReady(CompletableFuture<Pull> pull, long step, int first, int end) {
    assertTrue(pull.isDone(), "answered");
    Pull p = pull.join();
    assertEquals(List.of(WeightsHeader.State.READY, step, first, end), List.of(p.state(), p.step(), p.first(), p.end()));
    assertFalse(p.weights().isEmpty());
  }

  private static JobRefusal refusal(CompletableFuture<Pull> pull) {
    assertTrue(pull.isCompletedExceptionally(), "refused");
    return (JobRefusal) pull.handle((p, e) -> e).join();
  }

  /** Workers a and b at step 0 with micro-shards [0, 2) and [2, 4); a pushed its part. Returns their ids. */
  private List<String> aPushedItsPart(ServerPolicy policy) {
    start(2, policy);
    String a = join("a");
    String b = join("b");
    assertReady(pull(a, 0), 0, 0, 2);
    assertReady(pull(b, 0), 0, 2, 4);
    assertFalse(push(a, 0, 0, 2).getDuplicate());
    return List.of(a, b);
  }

  @Test
  void theWarmUpLeavesTheJobAsItWas() {
    start(1, policy(1, 0));
    String before = coordinator.networkSha256();
    coordinator.warmUp(5);
    assertEquals(before, coordinator.networkSha256(), "the warm-up updates copies only");
    assertEquals(0, coordinator.step());
  }

  /** A coordinator of a one-worker job whose listener adds the rehearsed starts and the starts to these lists. */
  private void recordStarts(List<JobInfo> rehearsed, List<JobInfo> started) {
    coordinator = new StepCoordinator(new ServerJob(Network.initialize(SPEC), CONFIG, DATA, 1), policy(1, 0),
        new TrainingListener() {
          @Override
          public void rehearseStart(JobInfo job) {
            rehearsed.add(job);
          }

          @Override
          public void onStart(JobInfo job) {
            started.add(job);
          }
        });
  }

  /** Without passes (the loops warmed up before the server was made) the warm-up only rehearses the start. */
  @Test
  void aWarmUpOfNoPassesOnlyRehearsesTheStart() {
    List<JobInfo> rehearsed = new ArrayList<>();
    recordStarts(rehearsed, new ArrayList<>());
    String before = coordinator.networkSha256();
    coordinator.warmUp(0);
    assertEquals(1, rehearsed.size());
    assertEquals(before, coordinator.networkSha256());
  }

  /** The warm-up rehearses the start with what the start then tells the listener, and starts nothing. */
  @Test
  void theWarmUpRehearsesTheJobsStart() {
    List<JobInfo> rehearsed = new ArrayList<>();
    List<JobInfo> started = new ArrayList<>();
    recordStarts(rehearsed, started);
    coordinator.warmUp(1);
    assertEquals(1, rehearsed.size());
    assertEquals(List.of(), started, "a rehearsal is not a start");
    join("w");
    assertEquals(rehearsed, started);
    assertEquals(new JobInfo(SPEC, CONFIG, 1, 3, 15, DATA.train().count(), DATA.test().count(), 0), started.get(0));
  }

  @Test
  void aLostWorkersMicroShardsAreHandedToTheOthersAtOnce() {
    List<String> ids = aPushedItsPart(policy(1, 0));
    String a = ids.get(0);
    String b = ids.get(1);
    CompletableFuture<Pull> next = pull(a, 1, 0, 2, 60_000);
    assertFalse(next.isDone(), "b's micro-shards are b's: a waits");
    coordinator.admission().leave(b, "", false);
    assertReady(next, 0, 2, 4);
    assertTrue(events.contains("lost: worker 1 (b) (left); 1 live worker(s); its micro-shards [[2, 4)] of step 1 go to the others"),
        events.toString());
    assertFalse(push(a, 0, 2, 4).getDuplicate());
    assertEquals(1, coordinator.step());
    assertEquals(JobRefusal.Kind.REJOIN, assertThrows(JobRefusal.class, () -> pull(b, 1)).kind(), "b is asked to join again");
  }

  @Test
  void withStalenessOneTheNextStepIsHandedOutBeforeThisOneClosesAndStepsCloseInOrder() {
    start(2, policy(1, 0), CONFIG.withStaleness(1));
    String a = join("a");
    String b = join("b");
    CompletableFuture<Pull> a0 = pull(a, 0);
    assertReady(a0, 0, 0, 2);
    assertEquals(0, a0.join().weightsVersion());
    assertReady(pull(b, 0), 0, 2, 4);
    push(a, 0, 0, 2);
    CompletableFuture<Pull> a1 = pull(a, 1, 0, 2, 60_000);
    assertReady(a1, 1, 0, 2); // at once: step 1 computes on the weights of step 0's start, which exist
    assertEquals(0, a1.join().weightsVersion());
    push(a, 1, 0, 2);
    CompletableFuture<Pull> a2 = pull(a, 2, 0, 2, 60_000);
    assertFalse(a2.isDone(), "step 2 needs the weights after step 0, and b's part of step 0 is missing");
    assertEquals(0, coordinator.step());
    CompletableFuture<Pull> b1 = pull(b, 1, 2, 4, 60_000);
    assertReady(b1, 1, 2, 4); // b may compute step 1 before its push of step 0 is in
    push(b, 0, 2, 4);
    assertEquals(1, coordinator.step(), "step 0 closed; step 1 waits for b");
    assertReady(a2, 2, 0, 2);
    assertEquals(1, a2.join().weightsVersion());
    push(b, 1, 2, 4);
    assertEquals(2, coordinator.step());
  }

  @Test
  void withStalenessALostWorkersMicroShardsOfEveryOpenStepGoToTheOthers() {
    start(2, policy(1, 0), CONFIG.withStaleness(1));
    String a = join("a");
    String b = join("b");
    assertReady(pull(a, 0), 0, 0, 2);
    assertReady(pull(b, 0), 0, 2, 4);
    push(a, 0, 0, 2);
    assertReady(pull(a, 1, 0, 2, 60_000), 1, 0, 2);
    push(a, 1, 0, 2);
    coordinator.admission().leave(b, "", false);
    assertTrue(events.contains("lost: worker 1 (b) (left); 1 live worker(s); its micro-shards [[2, 4)] of step 1, [[2, 4)] of step 2"
        + " go to the others"), events.toString());
    assertReady(pull(a, 2, 0, 2, 60_000), 0, 2, 4); // the earliest open step first
    push(a, 0, 2, 4);
    assertReady(pull(a, 1, 2, 4, 60_000), 1, 2, 4);
    push(a, 1, 2, 4);
    assertEquals(2, coordinator.step());
  }

  @Test
  void belowMinWorkersTheJobPausesAndAJoinerResumesIt() {
    start(2, policy(2, 0));
    String a = join("a");
    String b = join("b");
    assertFalse(coordinator.waiting());
    coordinator.admission().leave(b, "", false);
    assertTrue(coordinator.waiting(), "paused: 1 live worker, --min-workers 2");
    assertTrue(events.contains("waiting: 1 live worker(s), --min-workers 2; the job pauses until more join"), events.toString());
    CompletableFuture<Pull> paused = pull(a, 0);
    assertFalse(paused.isDone(), "no work while paused, not even a's own");
    String c = join("c");
    assertFalse(coordinator.waiting());
    assertTrue(events.contains("resuming: 2 live worker(s)"), events.toString());
    assertReady(paused, 0, 0, 2);
    push(a, 0, 0, 2);
    assertReady(pull(a, 1, 0, 2, 60_000), 0, 2, 4); // b's part went to a, the only survivor, when b left
    push(a, 0, 2, 4);
    assertReady(pull(c, 1), 1, 2, 4); // from the next step on, the newcomer has its share
  }

  @Test
  void anIdleWorkerGetsABackupCopyAndTheLateOriginalIsADuplicate() {
    List<String> ids = aPushedItsPart(policy(1, 1));
    String a = ids.get(0);
    String b = ids.get(1);
    assertReady(pull(a, 1, 0, 2, 60_000), 0, 2, 4); // a copy of b's micro-shards, at once
    assertFalse(push(a, 0, 2, 4).getDuplicate());
    assertEquals(1, coordinator.step());
    String weights = coordinator.networkSha256();
    PushResponse late = push(b, 0, 2, 4);
    assertTrue(late.getDuplicate(), "the straggler's push is acknowledged as a duplicate");
    assertEquals(0, late.getStep());
    assertEquals(1, coordinator.step());
    assertEquals(weights, coordinator.networkSha256());
  }

  @Test
  void withoutBackupWorkersAnIdleWorkerWaits() {
    String a = aPushedItsPart(policy(1, 0)).get(0);
    assertFalse(pull(a, 1, 0, 2, 60_000).isDone());
  }

  @Test
  void aWaitingPullIsAnsweredWhenItsStepOpensAtItsDeadlineOrWhenTheServerStops() throws Exception {
    start(1, policy(1, 0));
    String a = join("a");
    assertReady(pull(a, 0), 0, 0, 4);
    CompletableFuture<Pull> next = pull(a, 1, 0, 4, 60_000);
    assertFalse(next.isDone(), "its push of step 1 is on its way");
    push(a, 0, 0, 4);
    assertReady(next, 1, 0, 4);

    CompletableFuture<Pull> overdue = pull(a, 2, 0, 4, 0);
    CompletableFuture<Pull> patient = pull(a, 2, 0, 4, 60_000);
    coordinator.checkDeadlines();
    assertEquals(WeightsHeader.State.NOT_YET, overdue.join().state());
    assertEquals(1, overdue.join().step());
    assertFalse(patient.isDone());
    coordinator.failWaitingPulls();
    JobRefusal down = refusal(patient);
    assertEquals(JobRefusal.Kind.SHUTTING_DOWN, down.kind());
    assertEquals("server shutting down", down.getMessage());
  }

  @Test
  void aFinishedJobTellsItsWorkersDoneAndRefusesJoiners() throws Exception {
    start(1, policy(1, 0));
    String a = join("a");
    for (long s = 0; s < 3; s++) {
      pull(a, s);
      push(a, s, 0, 4);
    }
    assertNull(coordinator.awaitEnd()); // the final report runs after the background work
    assertTrue(coordinator.isFinished());
    assertEquals(WeightsHeader.State.DONE, pull(a, 3).join().state());
    JobRefusal over = assertThrows(JobRefusal.class, () -> coordinator.admission().join(JoinRequest.newBuilder().setWorkerName("x").build()));
    assertEquals(JobRefusal.Kind.JOB_OVER, over.kind());
    assertEquals("the job is over: it finished after step 3", over.getMessage());
  }

  @Test
  void stepsGoOnWhileTheBackgroundWorkWaitsAndTheJobEndsAfterIt() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    List<String> told = new CopyOnWriteArrayList<>();
    int batch = DATA.train().count() / 4 * 4; // one step per epoch, 3 epochs
    TrainingConfig epochs = new TrainingConfig("spirals", batch, 4, 0.1, 0.9, 0, LearningRateSchedule.Kind.CONSTANT,
        0, 0, 0.1, 3, 3, 9, "ejml");
    coordinator = new StepCoordinator(new ServerJob(Network.initialize(SPEC), epochs, DATA, 1), policy(1, 0),
        new TrainingListener() {
          @Override
          public void onEpoch(int epoch, long step, Evaluator.Result test, double trainLoss) {
            told.add("epoch " + epoch + " at step " + step);
          }

          @Override
          public void onFinish(Network net, long steps, Evaluator.Result test, double trainLoss) {
            told.add("finish after " + steps);
          }
        });
    coordinator.background().submit(() -> await(release)); // holds up the evaluations queued behind it
    String a = join("a");
    for (long s = 0; s < 3; s++) {
      assertReady(pull(a, s), s, 0, 4); // each step opens at once
      push(a, s, 0, 4);
    }
    assertEquals(List.of(), told);
    assertFalse(coordinator.isFinished(), "the job waits for its evaluations");
    CompletableFuture<Pull> last = pull(a, 3);
    assertFalse(last.isDone());
    release.countDown();
    assertNull(coordinator.awaitEnd());
    assertEquals(WeightsHeader.State.DONE, last.get(10, TimeUnit.SECONDS).state());
    assertEquals(List.of("epoch 0 at step 0", "epoch 1 at step 1", "epoch 2 at step 2", "finish after 3"), told);
  }

  private static void await(CountDownLatch latch) {
    try {
      assertTrue(latch.await(30, TimeUnit.SECONDS));
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void aFatalLeaveStopsTheJobAndEveryPullIsTold() throws Exception {
    start(2, policy(1, 0));
    String a = join("a");
    String b = join("b");
    CompletableFuture<Pull> waiting = pull(a, 1, 0, 2, 60_000);
    coordinator.admission().leave(b, "non-finite gradient", true);
    JobRefusal stopped = refusal(waiting);
    assertEquals(JobRefusal.Kind.JOB_STOPPED, stopped.kind());
    assertEquals("the job stopped: worker 1 (b): non-finite gradient", stopped.getMessage());
    assertEquals("worker 1 (b): non-finite gradient", coordinator.awaitEnd());
    assertNull(events.stream().filter(e -> e.startsWith("lost:")).findFirst().orElse(null), "stopped, not lost");
    // the other worker leaves the stopped job: it left, and nothing waits for more workers
    coordinator.admission().leave(a, "", false);
    assertTrue(events.contains("left: worker 0 (a) (left)"), events.toString());
    assertNull(events.stream().filter(e -> e.startsWith("waiting:")).findFirst().orElse(null), events.toString());
  }
}
