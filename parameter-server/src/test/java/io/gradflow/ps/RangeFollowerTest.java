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

  private PushResponse push(long step, int first, int end, List<TensorChunk> chunks) {
    PushHeader.Builder h = PushHeader.newBuilder().setWorkerId("w").setStep(step).setShardFirst(first).setShardEnd(end)
        .setEncoding(PushHeader.Encoding.PACKED64);
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
    setup.update().apply(whole, sumOf(0, 4), 0);
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
    // never in a running job: the follower restarted from a checkpoint behind the worker
    JobRefusal pull = assertThrows(JobRefusal.class, () -> pull(1));
    assertTrue(io.gradflow.common.wire.Rejoin.isAsked(RefusalStatus.of(pull)), pull.getMessage());
    JobRefusal push = assertThrows(JobRefusal.class, () -> push(1, 0, 4));
    assertTrue(io.gradflow.common.wire.Rejoin.isAsked(RefusalStatus.of(push)), push.getMessage());
  }
}
