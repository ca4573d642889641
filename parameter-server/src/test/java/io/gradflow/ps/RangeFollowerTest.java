package io.gradflow.ps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.data.SyntheticData;
import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.train.TrainingSetup;
import io.gradflow.common.wire.ParameterRange;
import io.gradflow.common.wire.ParameterRanges;
import io.gradflow.common.wire.RangeChunks;
import io.gradflow.common.wire.TensorChunks;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.PushResponse;
import io.gradflow.proto.TensorChunk;
import io.gradflow.proto.WeightsHeader;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A follower of sharded servers counts each micro-shard of a step once for its range: duplicates
 * are acknowledged and not added, a push partly in already is refused, a step closes when all of
 * its micro-shards are in, and the update of its range is the same bits as the whole model's.
 */
class RangeFollowerTest {
  private static final TrainTestSplit DATA = SyntheticData.spirals(3, 100, 0.2, 42);
  private static final ModelSpec SPEC = ModelSpec.parse("2-5-3", "tanh", "", 5);
  /** Batch 20 in 4 micro-shards, 3 steps, momentum 0.9, weight decay 0.01. */
  private static final TrainingConfig CONFIG = new TrainingConfig("spirals", 20, 4, 0.1, 0.9, 0.01,
      LearningRateSchedule.Kind.CONSTANT, 0, 0, 0.1, 1, 3, 9, "ejml");
  private ParameterRange range;
  private RangeFollower follower;

  @BeforeEach
  void startFollower() {
    Network net = Network.initialize(SPEC);
    List<ParameterRange> ranges = ParameterRanges.split(net.tensorLengths(), 2);
    range = ranges.get(1);
    follower = new RangeFollower(1, new ServerJob(net, CONFIG, DATA, 1), range, 0);
    seed(GENERATION, 0, Network.initialize(SPEC), new float[net.tensorCount()][0], false);
  }

  private static final long GENERATION = 0x5eed;

  /** Seeds the follower with {@code step} applied steps, the weights {@code weights} and momentum {@code velocity} (zeros when empty). */
  private long seed(long generation, long step, Network weights, float[][] velocity, boolean started) {
    float[][] v = new float[weights.tensorCount()][];
    for (int t = 0; t < v.length; t++) {
      v[t] = velocity[t].length == 0 ? new float[weights.tensor(t).length] : velocity[t];
    }
    return follower.seed(generation, new JobIdentity(weights, CONFIG).fingerprint(), step, started, weights, v, List.of());
  }

  /** The fixed-point sum of micro-shards [first, end): micro-shard m adds (m + 1) * (i + 1) * 2^30 to element i of every tensor. */
  private static ExactGradientSum sumOf(int first, int end) {
    ExactGradientSum sum = new ExactGradientSum(Network.initialize(SPEC));
    for (int t = 0; t < sum.tensorCount(); t++) {
      long[] q = sum.tensor(t);
      for (int i = 0; i < q.length; i++) {
        for (int m = first; m < end; m++) {
          q[i] += (long) (m + 1) * (i + 1) << 30;
        }
      }
    }
    return sum;
  }

  private long generation = GENERATION;

  private PushResponse push(long step, int first, int end, List<TensorChunk> chunks) {
    PushHeader.Builder h = PushHeader.newBuilder().setWorkerId("w").setStep(step).setShardFirst(first).setShardEnd(end)
        .setEncoding(PushHeader.Encoding.PACKED64).setServerGeneration(generation);
    for (int m = first; m < end; m++) {
      h.addShardLoss(1.0);
    }
    FollowerPush p = follower.beginPush(h.build());
    try {
      for (TensorChunk c : chunks) {
        p.addChunk(c);
      }
    } catch (JobRefusal e) {
      follower.abortPush(p);
      throw e;
    }
    return follower.commitPush(p);
  }

  private PushResponse push(long step, int first, int end) {
    return push(step, first, end, RangeChunks.push(PushHeader.Encoding.PACKED64, range, sumOf(first, end), null));
  }

  /** This follower's range of the weights of step {@code step} (answered at once or never). */
  private Network pull(long step) {
    CompletableFuture<Pull> answer = new CompletableFuture<>();
    follower.pull(step, new PullAnswer() {
      @Override
      public void answer(Pull pull) {
        answer.complete(pull);
      }

      @Override
      public void fail(JobRefusal refusal) {
        answer.completeExceptionally(refusal);
      }
    });
    assertTrue(answer.isDone(), "the version of step " + (step + 1) + " exists");
    Pull p = answer.join();
    assertEquals(WeightsHeader.State.READY, p.state());
    Network out = new Network(SPEC);
    for (TensorChunk c : p.weights()) {
      TensorChunks.readFloats(c, out.tensor(c.getTensor()));
    }
    return out;
  }

  @Test
  void eachMicroShardOfAStepIsAddedOnceAndTheStepClosesWhenAllAreIn() {
    assertFalse(push(0, 0, 2).getDuplicate());
    assertTrue(push(0, 0, 2).getDuplicate(), "the same micro-shards again: acknowledged, not added");
    assertTrue(push(0, 1, 2).getDuplicate(), "a part of them (a lost worker's item cut smaller): in already");
    assertEquals(0, follower.applied());
    assertFalse(push(0, 2, 3).getDuplicate());
    assertFalse(push(0, 3, 4).getDuplicate());
    assertEquals(1, follower.applied(), "every micro-shard is in: the step closed");
    assertTrue(push(0, 2, 4).getDuplicate(), "a push of a closed step");
    assertEquals(3, follower.duplicates());

    // the same sum over the whole model, updated in one piece: the range holds the same bits
    Network whole = Network.initialize(SPEC);
    TrainingSetup setup = TrainingSetup.of(whole, CONFIG, DATA.train().count());
    setup.update().apply(whole, sumOf(0, 4), null, 0, true);
    Network mine = pull(1);
    for (int t = 0; t < whole.tensorCount(); t++) {
      for (int i = range.from()[t]; i < range.end()[t]; i++) {
        assertEquals(Float.floatToIntBits(whole.tensor(t)[i]), Float.floatToIntBits(mine.tensor(t)[i]), Network.tensorName(t) + "[" + i + "]");
      }
    }
  }

  @Test
  void aPushPartlyInAlreadyIsRefusedAndChangesNothing() {
    push(0, 0, 2);
    JobRefusal e = assertThrows(JobRefusal.class, () -> push(0, 1, 3));
    assertTrue(e.getMessage().contains("partly in"), e.getMessage());
    assertFalse(push(0, 2, 4).getDuplicate(), "micro-shard 2 was not taken from the refused push");
    assertEquals(1, follower.applied());
  }

  @Test
  void aPushMustCoverExactlyTheRange() {
    ParameterRange other = ParameterRanges.split(Network.initialize(SPEC).tensorLengths(), 2).get(0);
    List<TensorChunk> wrong = RangeChunks.push(PushHeader.Encoding.PACKED64, other, sumOf(0, 1), null);
    JobRefusal outside = assertThrows(JobRefusal.class, () -> push(0, 0, 1, wrong));
    assertTrue(outside.getMessage().contains("this server's range"), outside.getMessage());
    List<TensorChunk> all = RangeChunks.push(PushHeader.Encoding.PACKED64, range, sumOf(0, 1), null);
    JobRefusal missing = assertThrows(JobRefusal.class, () -> push(0, 0, 1, all.subList(1, all.size())));
    assertTrue(missing.getMessage().contains("push ended with"), missing.getMessage());
    assertFalse(push(0, 0, 1).getDuplicate(), "the refused pushes added nothing");
  }

  @Test
  void aPullOrPushBeyondTheFollowersStepsAsksTheWorkerToJoinAgain() {
    // never in a running job: the servers rolled back to a checkpoint behind the worker
    JobRefusal pull = assertThrows(JobRefusal.class, () -> pull(2));
    assertTrue(io.gradflow.common.wire.Rejoin.isAsked(RefusalStatus.of(pull)), pull.getMessage());
    JobRefusal push = assertThrows(JobRefusal.class, () -> push(1, 0, 4));
    assertTrue(io.gradflow.common.wire.Rejoin.isAsked(RefusalStatus.of(push)), push.getMessage());
  }

  @Test
  void beforeItsSeedAFollowerAnswersUnavailable() {
    RangeFollower empty = new RangeFollower(1, new ServerJob(Network.initialize(SPEC), CONFIG, DATA, 1), range, 0);
    assertEquals(0, empty.generation());
    follower = empty;
    JobRefusal e = assertThrows(JobRefusal.class, () -> pull(0));
    assertEquals(io.grpc.Status.Code.UNAVAILABLE, RefusalStatus.of(e).getStatus().getCode(), e.getMessage());
    e = assertThrows(JobRefusal.class, () -> push(0, 0, 4));
    assertEquals(io.grpc.Status.Code.UNAVAILABLE, RefusalStatus.of(e).getStatus().getCode(), e.getMessage());
  }

  @Test
  void aSeedResetsAFollowerThatIsAheadAndItsPartialSteps() {
    push(0, 0, 4);
    push(1, 0, 2); // step 2 half in
    assertEquals(1, follower.applied());
    Network seeded = Network.initialize(SPEC);
    for (int t = 0; t < seeded.tensorCount(); t++) {
      java.util.Arrays.fill(seeded.tensor(t), 0.25f * (t + 1));
    }
    assertEquals(1, seed(GENERATION + 1, 0, seeded, new float[seeded.tensorCount()][0], false), "it had applied one step");
    assertEquals(0, follower.applied());
    assertEquals(GENERATION + 1, follower.generation());
    Network mine = pull(0);
    for (int t = 0; t < mine.tensorCount(); t++) {
      for (int i = range.from()[t]; i < range.end()[t]; i++) {
        assertEquals(0.25f * (t + 1), mine.tensor(t)[i], "the seed's weights");
      }
    }
    // a push of the earlier coordinator's generation is not counted: its worker joins again
    JobRefusal old = assertThrows(JobRefusal.class, () -> push(0, 0, 4));
    assertTrue(io.gradflow.common.wire.Rejoin.isAsked(RefusalStatus.of(old)), old.getMessage());
    generation = GENERATION + 1;
    assertFalse(push(0, 0, 2).getDuplicate(), "the partial sums were dropped with the steps");
    assertFalse(push(0, 2, 4).getDuplicate());
    assertEquals(1, follower.applied());
    // the same as a follower that started from those weights: one update of the same sum
    Network whole = seeded.copy();
    TrainingSetup.of(whole, CONFIG, DATA.train().count()).update().apply(whole, sumOf(0, 4), null, 0, true);
    Network after = pull(1);
    for (int t = 0; t < whole.tensorCount(); t++) {
      for (int i = range.from()[t]; i < range.end()[t]; i++) {
        assertEquals(Float.floatToIntBits(whole.tensor(t)[i]), Float.floatToIntBits(after.tensor(t)[i]));
      }
    }
  }

  @Test
  void aSeedOfAnotherJobIsRefused() {
    Network other = Network.initialize(ModelSpec.parse("2-6-3", "tanh", "", 5));
    JobRefusal e = assertThrows(JobRefusal.class, () -> follower.seed(7, new JobIdentity(other, CONFIG).fingerprint(), 0, false,
        Network.initialize(SPEC), new float[][] {{}}, List.of()));
    assertTrue(e.getMessage().contains("another job"), e.getMessage());
  }

  /**
   * With staleness 1 steps 1 and 2 are open together and pushes come out of order; the follower's
   * ranged update (weight decay, momentum from its first step on) gives its range the bits of the
   * whole model's update of the same sums, step after step.
   */
  @Test
  void withStalenessTheRangedUpdateGivesTheWholeUpdatesBitsOnTheRange() {
    TrainingConfig stale = CONFIG.withStaleness(1);
    Network start = Network.initialize(SPEC);
    follower = new RangeFollower(1, new ServerJob(start.copy(), stale, DATA, 1), range, 0);
    follower.seed(GENERATION, new JobIdentity(start, stale).fingerprint(), 0, false, start,
        new float[][] {new float[start.tensor(0).length], new float[start.tensor(1).length], new float[start.tensor(2).length],
            new float[start.tensor(3).length]}, List.of());
    push(1, 0, 4); // step 2 complete before step 1
    assertEquals(0, follower.applied());
    push(0, 2, 4);
    push(0, 0, 2);
    assertEquals(2, follower.applied(), "step 1 closed, then step 2");
    push(2, 0, 4);
    assertEquals(3, follower.applied());
    Network whole = start.copy();
    TrainingSetup setup = TrainingSetup.of(whole, stale, DATA.train().count());
    for (int step = 0; step < 3; step++) {
      setup.update().apply(whole, sumOf(0, 4), null, step, true);
    }
    Network mine = pull(4); // step 4 computes on version 3
    for (int t = 0; t < whole.tensorCount(); t++) {
      for (int i = range.from()[t]; i < range.end()[t]; i++) {
        assertEquals(Float.floatToIntBits(whole.tensor(t)[i]), Float.floatToIntBits(mine.tensor(t)[i]), Network.tensorName(t) + "[" + i + "]");
      }
    }
  }

  /**
   * A worker asks a follower for the next step's weights together with the coordinator, before the
   * step closed: the pull waits and is answered when its version is made; a cancelled one is
   * forgotten, and a seed fails the waiting ones with a rejoin.
   */
  @Test
  void aPullOfTheNextVersionWaitsUntilTheStepCloses() {
    List<Pull> answers = new java.util.ArrayList<>();
    List<JobRefusal> failures = new java.util.ArrayList<>();
    PullAnswer answer = new PullAnswer() {
      @Override
      public void answer(Pull pull) {
        answers.add(pull);
      }

      @Override
      public void fail(JobRefusal refusal) {
        failures.add(refusal);
      }
    };
    PullAnswer cancelled = new PullAnswer() {
      @Override
      public void answer(Pull pull) {
        throw new AssertionError("a cancelled pull is not answered");
      }

      @Override
      public void fail(JobRefusal refusal) {
        throw new AssertionError("a cancelled pull is not answered");
      }
    };
    follower.pull(1, answer);
    follower.pull(1, cancelled);
    follower.cancelPull(cancelled);
    assertEquals(1, follower.waitingPulls());
    push(0, 0, 2);
    assertTrue(answers.isEmpty(), "step 1 is not closed yet");
    push(0, 2, 4);
    assertEquals(1, answers.size(), "answered when step 1 closed");
    assertEquals(1, answers.get(0).weightsVersion());
    assertEquals(0, follower.waitingPulls());
    follower.pull(2, answer);
    seed(GENERATION + 1, 0, Network.initialize(SPEC), new float[Network.initialize(SPEC).tensorCount()][0], false);
    assertEquals(1, failures.size());
    assertTrue(io.gradflow.common.wire.Rejoin.isAsked(RefusalStatus.of(failures.get(0))), failures.get(0).getMessage());
  }
}
