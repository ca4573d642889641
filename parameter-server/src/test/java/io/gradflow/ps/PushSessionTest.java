package io.gradflow.ps;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.data.SamplingPlan;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.reduce.FixedPoint;
import io.gradflow.common.wire.PushPrecision;
import io.gradflow.common.wire.TensorChunks;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.TensorChunk;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * A push is checked before its chunks, its chunks are checked as they are staged, and only a
 * complete, valid push of the open step's assigned micro-shards changes the step's sum.
 */
class PushSessionTest {
  private static final Network SHAPE = new Network(ModelSpec.parse("2-5-3", "tanh", "", 5));
  private static final PushSession.Tensors TENSORS = PushSession.Tensors.of(SHAPE);
  private final Member a = new Member("a", 0, "a", 0);
  private final Member b = new Member("b", 1, "b", 0);
  /** Two micro-shards, one per worker: a computes [0, 1), b [1, 2). */
  private final OpenSteps steps = new OpenSteps(new SamplingPlan(300, 2, 2, 1), 0, 0, SHAPE, 0);
  private final MicroShardAssignment assignment;
  private final ExactGradientSum sum;
  private final StepTimings timings = new StepTimings(0);

  PushSessionTest() {
    steps.openDue(10, List.of(a, b));
    assignment = steps.first().assignment();
    sum = steps.first().sum();
  }

  private static PushHeader.Builder header(Member m, int first, int end) {
    PushHeader.Builder h = PushHeader.newBuilder().setWorkerId(m.id).setStep(0).setShardFirst(first).setShardEnd(end)
        .setEncoding(PushHeader.Encoding.FLOAT32);
    for (int i = first; i < end; i++) {
      h.addShardLoss(0.5);
    }
    return h;
  }

  private PushSession begin(Member m, PushHeader.Builder h) {
    return PushSession.begin(m, h.build(), true, steps, PushPrecision.FP32, TENSORS);
  }

  /** Float gradients {@code 0.25 * (t + 1)} everywhere, with {@code edit} applied. */
  private static List<TensorChunk> floats(Consumer<float[][]> edit) {
    float[][] g = new float[SHAPE.tensorCount()][];
    for (int t = 0; t < g.length; t++) {
      g[t] = new float[SHAPE.tensor(t).length];
      java.util.Arrays.fill(g[t], 0.25f * (t + 1));
    }
    edit.accept(g);
    List<TensorChunk> chunks = new ArrayList<>();
    for (int t = 0; t < g.length; t++) {
      chunks.addAll(TensorChunks.ofFloats(t, g[t]));
    }
    return chunks;
  }

  private long[][] sumNow() {
    long[][] copy = new long[sum.tensorCount()][];
    for (int t = 0; t < copy.length; t++) {
      copy[t] = sum.tensor(t).clone();
    }
    return copy;
  }

  @Test
  void aBadChunkIsRefusedAndTheStepsSumStaysAsItWas() {
    long[][] before = sumNow();
    PushSession bad = begin(a, header(a, 0, 1));
    List<TensorChunk> chunks = floats(g -> g[2][3] = Float.NaN);
    bad.addChunk(chunks.get(0));
    bad.addChunk(chunks.get(1));
    JobRefusal nan = assertThrows(JobRefusal.class, () -> bad.addChunk(chunks.get(2)));
    assertEquals(JobRefusal.Kind.BAD_REQUEST, nan.kind());
    assertEquals("gradient layer1.W[3] = NaN: expected a finite value below 2048 in magnitude (from worker 0 (a))",
        nan.getMessage());
    bad.abort();
    assertArrayEquals(before, sumNow(), "the staged part of the refused push is not in the sum");
    assertFalse(a.pushing);

    PushSession good = begin(a, header(a, 0, 1));
    floats(g -> {}).forEach(good::addChunk);
    assertEquals(PushSession.Commit.ADDED, good.commit(steps, timings, false));
    assertEquals(FixedPoint.roundToFixed(0.75f), sum.tensor(2)[3], "exactly the good push's value");
    assertTrue(assignment.allCovered(0, 1));
  }

  @Test
  void chunksOutOfOrderOrOfTheWrongShapeAreRefused() {
    PushSession push = begin(a, header(a, 0, 1));
    TensorChunk later = TensorChunks.ofFloats(0, new float[2]).get(0).toBuilder().setOffset(2).build();
    JobRefusal order = assertThrows(JobRefusal.class, () -> push.addChunk(later));
    assertEquals("layer0.W chunk at element 2: expected element 0 (chunks of a tensor come in order)", order.getMessage());
    JobRefusal shape = assertThrows(JobRefusal.class, () -> push.addChunk(TensorChunks.ofFloats(1, new float[6]).get(0)));
    assertEquals(JobRefusal.Kind.BAD_REQUEST, shape.kind());
    assertTrue(shape.getMessage().contains("expected within [0, 5)"), shape.getMessage());
  }

  @Test
  void anIncompletePushIsRefusedAtCommitAndFreesItsWorker() {
    PushSession push = begin(a, header(a, 0, 1));
    push.addChunk(floats(g -> {}).get(0));
    JobRefusal partial = assertThrows(JobRefusal.class, () -> push.commit(steps, timings, false));
    assertEquals(JobRefusal.Kind.BAD_REQUEST, partial.kind());
    assertEquals("push ended with 0 of 5 elements of layer0.b", partial.getMessage());
    assertFalse(a.pushing);
    assertFalse(assignment.allCovered(0, 1));
  }

  @Test
  void theHeaderIsCheckedBeforeAnyChunk() {
    assertEquals("micro-shards [1, 3): expected a range within [0, 2)",
        assertThrows(JobRefusal.class, () -> begin(a, header(a, 1, 3))).getMessage());
    assertEquals("1 micro-shards pushed with 2 loss values: expected one per micro-shard",
        assertThrows(JobRefusal.class, () -> begin(a, header(a, 0, 1).addShardLoss(1))).getMessage());
    assertEquals("loss of micro-shard 0 is NaN: expected a finite value",
        assertThrows(JobRefusal.class, () -> begin(a, header(a, 0, 1).setShardLoss(0, Double.NaN))).getMessage());
    assertTrue(assertThrows(JobRefusal.class, () -> begin(a, header(a, 0, 2))).getMessage()
        .startsWith("FLOAT32 pushes carry exactly one micro-shard, got 2"));
    JobRefusal bf16 = assertThrows(JobRefusal.class,
        () -> begin(a, header(a, 0, 1).setEncoding(PushHeader.Encoding.BF16)));
    assertEquals(JobRefusal.Kind.BAD_REQUEST, bf16.kind());
    assertEquals("push encoding BF16: expected PACKED64 or FLOAT32 (this job has push precision fp32)", bf16.getMessage());
    assertFalse(a.pushing, "a refused header leaves no push in flight");
  }

  @Test
  void aPushMustBeForTheOpenStepAndTheWorkersOwnMicroShards() {
    JobRefusal early = assertThrows(JobRefusal.class,
        () -> PushSession.begin(a, header(a, 0, 1).build(), false, steps, PushPrecision.FP32, TENSORS));
    assertEquals("push for step 0 but the job is at step 0 and has not started", early.getMessage());
    JobRefusal future = assertThrows(JobRefusal.class, () -> begin(a, header(a, 0, 1).setStep(2)));
    assertEquals(JobRefusal.Kind.REFUSED, future.kind());
    assertEquals("push for step 2 but the job is at step 0", future.getMessage());
    JobRefusal others = assertThrows(JobRefusal.class, () -> begin(a, header(a, 1, 2)));
    assertEquals(JobRefusal.Kind.REFUSED, others.kind());
    assertEquals("worker 0 (a) pushed micro-shards [1, 2) of step 1 but was assigned [0, 1)", others.getMessage());
  }

  @Test
  void oneWorkerPushesOneAtATime() {
    begin(a, header(a, 0, 1));
    JobRefusal twice = assertThrows(JobRefusal.class, () -> begin(a, header(a, 0, 1)));
    assertEquals(JobRefusal.Kind.REFUSED, twice.kind());
    assertEquals("worker 0 (a) has a push in flight already", twice.getMessage());
    begin(b, header(b, 1, 2)); // another worker may
  }

  @Test
  void aDuplicateIsAcknowledgedAndAddsNothing() {
    PushSession first = begin(a, header(a, 0, 1));
    floats(g -> {}).forEach(first::addChunk);
    assertEquals(PushSession.Commit.ADDED, first.commit(steps, timings, false));
    long[][] once = sumNow();
    PushSession again = begin(a, header(a, 0, 1));
    floats(g -> {}).forEach(again::addChunk);
    assertEquals(PushSession.Commit.DUPLICATE, again.commit(steps, timings, false));
    assertArrayEquals(once, sumNow());
    PushSession last = begin(b, header(b, 1, 2));
    floats(g -> {}).forEach(last::addChunk);
    assertEquals(PushSession.Commit.COMPLETED_STEP, last.commit(steps, timings, false));
  }

  /**
   * The first push into the step's (zero) sum takes the sum's place; with {@code mayDefer} the
   * push that completes the step is not added but handed to the update; without, it is added.
   */
  @Test
  void theFirstPushTakesTheSumsPlaceAndTheLastIsLeftToTheUpdateWhenItClosesTheStep() {
    for (boolean mayDefer : new boolean[] {true, false}) {
      OpenSteps fresh = new OpenSteps(new SamplingPlan(300, 2, 2, 1), 0, 0, SHAPE, 0);
      Member x = new Member("x", 0, "x", 0);
      Member y = new Member("y", 1, "y", 0);
      fresh.openDue(10, List.of(x, y));
      ExactGradientSum stepSum = fresh.first().sum();
      PushSession first = PushSession.begin(x, header(x, 0, 1).build(), true, fresh, PushPrecision.FP32, TENSORS);
      floats(g -> g[0][1] = 1.5f).forEach(first::addChunk);
      assertEquals(PushSession.Commit.ADDED, first.commit(fresh, timings, mayDefer));
      assertEquals(null, first.deferred());
      assertEquals(FixedPoint.roundToFixed(1.5f), stepSum.tensor(0)[1]);
      assertEquals(FixedPoint.roundToFixed(0.25f), stepSum.tensor(0)[0]);
      for (int t = 0; t < SHAPE.tensorCount(); t++) {
        assertFalse(x.staging[t] == stepSum.tensor(t), "the worker's staging is no longer the sum's");
      }
      PushSession last = PushSession.begin(y, header(y, 1, 2).build(), true, fresh, PushPrecision.FP32, TENSORS);
      floats(g -> g[0][1] = -0.5f).forEach(last::addChunk);
      assertEquals(PushSession.Commit.COMPLETED_STEP, last.commit(fresh, timings, mayDefer));
      if (mayDefer) {
        assertEquals(FixedPoint.roundToFixed(1.5f), stepSum.tensor(0)[1], "not added");
        assertEquals(FixedPoint.roundToFixed(-0.5f), last.deferred()[0][1]);
      } else {
        assertEquals(null, last.deferred());
        assertEquals(FixedPoint.roundToFixed(1.5f) + FixedPoint.roundToFixed(-0.5f), stepSum.tensor(0)[1]);
      }
    }
  }

  @Test
  void aWorkerLostDuringItsPushIsAskedToJoinAgainAndItsPushIsDropped() {
    PushSession push = begin(a, header(a, 0, 1));
    floats(g -> {}).forEach(push::addChunk);
    a.left = true;
    assignment.handOver(a, List.of(b));
    long[][] before = sumNow();
    JobRefusal rejoin = assertThrows(JobRefusal.class, () -> push.commit(steps, timings, false));
    assertEquals(JobRefusal.Kind.REJOIN, rejoin.kind());
    assertEquals("worker 0 (a) was declared lost; its push is dropped; join again", rejoin.getMessage());
    assertArrayEquals(before, sumNow());
    assertFalse(assignment.allCovered(0, 1), "micro-shard 0 is b's now");
  }
}
