package io.gradflow.ps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.data.SyntheticData;
import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.ModelSpecs;
import io.gradflow.common.model.Network;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.train.TrainingListener;
import io.gradflow.common.util.SplitMix64;
import io.gradflow.common.wire.Bfloat16;
import io.gradflow.common.wire.JobFingerprint;
import io.gradflow.common.wire.PushCodec;
import io.gradflow.common.wire.PushPrecision;
import io.gradflow.proto.JoinRequest;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.TensorChunk;
import io.gradflow.proto.WeightsHeader;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A job with push precision bf16: its server takes BF16 pushes and sums them exactly as the
 * fixed-point values they stand for, refuses every other encoding (and an fp32 job refuses BF16),
 * and refuses at join a worker whose job has the other precision.
 */
class Bf16PushTest {
  private static final TrainTestSplit DATA = SyntheticData.spirals(3, 100, 0.2, 42);
  private final ModelSpec spec = ModelSpec.parse("2-5-3", "tanh", "", 5);

  private static TrainingConfig config(PushPrecision p) {
    return new TrainingConfig("spirals", 30, 2, 0.1, 0.9, 0, LearningRateSchedule.Kind.CONSTANT, 0, 0, 0.1, 1, 5, 9,
        "ejml", p);
  }

  /** A coordinator for one worker, joined and ready, at step 0 with micro-shards [0, 2) assigned. */
  private record Job(StepCoordinator coordinator, String workerId) {}

  private Job start(PushPrecision p) throws InterruptedException {
    StepCoordinator c = new StepCoordinator(new ServerJob(Network.initialize(spec), config(p), DATA, 1), ServerPolicy.defaults(),
        new TrainingListener() {});
    String id = c.admission().join(JoinRequest.newBuilder().setWorkerName("w").build()).getWorkerId();
    c.admission().ready(id, DATA.train().sha256(), DATA.train().count());
    java.util.concurrent.CompletableFuture<Pull> answered = new java.util.concurrent.CompletableFuture<>();
    c.pull(io.gradflow.proto.PullRequest.newBuilder().setWorkerId(id).setStep(0).build(), 1000,
        new PullAnswer() {
          @Override
          public void answer(Pull p) {
            answered.complete(p);
          }

          @Override
          public void fail(JobRefusal e) {
            answered.completeExceptionally(e);
          }
        });
    Pull pull = answered.join();
    assertEquals(WeightsHeader.State.READY, pull.state());
    assertEquals(2, pull.end() - pull.first());
    return new Job(c, id);
  }

  private static PushHeader header(Job job, PushHeader.Encoding e) {
    return PushHeader.newBuilder().setWorkerId(job.workerId()).setStep(0).setShardFirst(0).setShardEnd(2)
        .addShardLoss(1.0).addShardLoss(1.0).setEncoding(e).build();
  }

  /** Fixed-point gradient sums like those of a real step (~1e-3 at scale 2^40), one array per tensor. */
  private long[][] sums() {
    Network shape = new Network(spec);
    SplitMix64 rng = new SplitMix64(21);
    long[][] q = new long[shape.tensorCount()][];
    for (int t = 0; t < q.length; t++) {
      q[t] = new long[shape.tensor(t).length];
      for (int i = 0; i < q[t].length; i++) {
        q[t][i] = (long) (rng.nextGaussian() * 0x1p30);
      }
    }
    return q;
  }

  private static void push(Job job, PushHeader.Encoding e, List<TensorChunk> chunks) {
    PushSession s = job.coordinator().beginPush(header(job, e));
    try {
      chunks.forEach(s::addChunk);
    } catch (RuntimeException ex) {
      job.coordinator().abortPush(s);
      throw ex;
    }
    job.coordinator().commitPush(s);
  }

  @Test
  void aBf16PushIsSummedAsTheFixedPointValuesItStandsFor() throws Exception {
    long[][] q = sums();
    Job bf16 = start(PushPrecision.BF16);
    List<TensorChunk> chunks = new ArrayList<>();
    for (int t = 0; t < q.length; t++) {
      chunks.addAll(PushCodec.bf16(t, q[t]));
    }
    push(bf16, PushHeader.Encoding.BF16, chunks);
    assertEquals(1, bf16.coordinator().step());

    // the same step in an exact job, pushing the bfloat16 values' fixed points as PACKED64
    Job exact = start(PushPrecision.FP32);
    List<TensorChunk> fixed = new ArrayList<>();
    for (int t = 0; t < q.length; t++) {
      long[] rounded = new long[q[t].length];
      for (int i = 0; i < rounded.length; i++) {
        rounded[i] = Bfloat16.toFixed(Bfloat16.fromFixed(q[t][i]));
      }
      fixed.addAll(PushCodec.packed64(t, rounded));
    }
    push(exact, PushHeader.Encoding.PACKED64, fixed);
    assertEquals(exact.coordinator().networkSha256(), bf16.coordinator().networkSha256());

    // and the rounding did change something against the unrounded sums
    Job unrounded = start(PushPrecision.FP32);
    List<TensorChunk> raw = new ArrayList<>();
    for (int t = 0; t < q.length; t++) {
      raw.addAll(PushCodec.packed64(t, q[t]));
    }
    push(unrounded, PushHeader.Encoding.PACKED64, raw);
    assertNotEquals(unrounded.coordinator().networkSha256(), bf16.coordinator().networkSha256());
  }

  @Test
  void eachJobTakesOnlyTheEncodingsOfItsPrecision() throws Exception {
    Job bf16 = start(PushPrecision.BF16);
    for (PushHeader.Encoding e : List.of(PushHeader.Encoding.PACKED64, PushHeader.Encoding.FIXED64)) {
      JobRefusal ex = assertThrows(JobRefusal.class, () -> bf16.coordinator().beginPush(header(bf16, e)));
      assertEquals(JobRefusal.Kind.BAD_REQUEST, ex.kind());
      assertEquals("push encoding " + e + ": this job has push precision bf16 and takes BF16 pushes only",
          ex.getMessage());
    }
    Job fp32 = start(PushPrecision.FP32);
    JobRefusal ex =
        assertThrows(JobRefusal.class, () -> fp32.coordinator().beginPush(header(fp32, PushHeader.Encoding.BF16)));
    assertEquals(JobRefusal.Kind.BAD_REQUEST, ex.kind());
    assertTrue(ex.getMessage().contains("(this job has push precision fp32)"), ex.getMessage());
    // FIXED64 is in the proto but nothing sends it: refused
    ex = assertThrows(JobRefusal.class, () -> fp32.coordinator().beginPush(header(fp32, PushHeader.Encoding.FIXED64)));
    assertEquals(JobRefusal.Kind.BAD_REQUEST, ex.kind());
    assertEquals("push encoding FIXED64: expected PACKED64 or FLOAT32", ex.getMessage());
  }

  @Test
  void aNonFiniteBf16ValueIsRefusedNamingTheTensorAndChangesNothing() throws Exception {
    Job job = start(PushPrecision.BF16);
    long[][] q = sums();
    List<TensorChunk> chunks = new ArrayList<>();
    for (int t = 0; t < q.length; t++) {
      chunks.addAll(PushCodec.bf16(t, q[t]));
    }
    List<TensorChunk> bad = new ArrayList<>(chunks);
    byte[] b = bad.get(2).getData().toByteArray();
    b[2 * 3] = (byte) 0xC0; // element 3 of layer1.W: 0x7FC0, a quiet NaN
    b[2 * 3 + 1] = (byte) 0x7F;
    bad.set(2, bad.get(2).toBuilder().setData(com.google.protobuf.ByteString.copyFrom(b)).build());
    JobRefusal ex = assertThrows(JobRefusal.class, () -> push(job, PushHeader.Encoding.BF16, bad));
    assertEquals(JobRefusal.Kind.BAD_REQUEST, ex.kind());
    assertTrue(ex.getMessage().startsWith("gradient layer1.W[3] = NaN: expected a finite value"), ex.getMessage());
    assertEquals(0, job.coordinator().step());
    push(job, PushHeader.Encoding.BF16, chunks);
    assertEquals(1, job.coordinator().step());
  }

  @Test
  void aWorkerWhoseJobHasTheOtherPrecisionIsRefusedAtJoin() throws Exception {
    Job bf16 = start(PushPrecision.BF16);
    io.gradflow.proto.ModelSpec specProto = ModelSpecs.toProto(spec);
    io.gradflow.proto.TrainConfig workerConfig = config(PushPrecision.FP32).toProto();
    JoinRequest fp32Worker = JoinRequest.newBuilder().setWorkerName("fp32-worker").setSpec(specProto)
        .setConfig(workerConfig).setFingerprint(JobFingerprint.of(specProto, workerConfig)).build();
    JobRefusal ex = assertThrows(JobRefusal.class, () -> bf16.coordinator().admission().join(fp32Worker));
    assertEquals(JobRefusal.Kind.REFUSED, ex.kind());
    assertTrue(ex.getMessage().endsWith("push precision: bf16 (server) vs fp32 (worker)"), ex.getMessage());
    // a worker that takes the job from the server gets the precision with it
    assertEquals("bf16", bf16.coordinator().admission().join(JoinRequest.newBuilder().setWorkerName("any").build())
        .getConfig().getPushPrecision());
  }
}
