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
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.train.TrainingListener;
import io.gradflow.common.wire.PushCodec;
import io.gradflow.common.wire.TensorChunks;
import io.gradflow.proto.JoinRequest;
import io.gradflow.proto.JoinResponse;
import io.gradflow.proto.ParameterServerGrpc;
import io.gradflow.proto.PullChunk;
import io.gradflow.proto.PullRequest;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.PushResponse;
import io.gradflow.proto.ReadyRequest;
import io.gradflow.proto.TensorChunk;
import io.gradflow.proto.WeightsHeader;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The server refuses bad pushes with a Status that names the problem, and a refused push changes
 * nothing: NaN gradients, wrong shapes, out-of-order chunks, strangers, pushes for the wrong step.
 * Duplicate pushes are idempotent. A worker may ask for the next weights before its push is
 * acknowledged: that pull waits for the next step instead of being handed the same micro-shards.
 */
class PushValidationTest {
  private static final TrainTestSplit DATA = SyntheticData.spirals(3, 100, 0.2, 42);
  private final ModelSpec spec = ModelSpec.parse("2-5-3", "tanh", "", 5);
  private final TrainingConfig config = new TrainingConfig("spirals", 30, 2, 0.1, 0.9, 0, LearningRateSchedule.Kind.CONSTANT,
      0, 0, 0.1, 1, 5, 9, "ejml");
  private ParameterServer server;
  private ManagedChannel channel;
  private ParameterServerGrpc.ParameterServerBlockingStub blocking;
  private ParameterServerGrpc.ParameterServerStub async;
  private String workerId;
  private final List<String> events = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    start(1);
  }

  /** Starts a server for {@code workers} workers and joins them all from this test; the first is {@link #workerId}. */
  private List<String> start(int workers) throws Exception {
    if (server != null) {
      stop();
    }
    String name = InProcessServerBuilder.generateName();
    server = new ParameterServer(InProcessServerBuilder.forName(name).directExecutor(),
        new ServerJob(Network.initialize(spec), config, DATA, workers), new TrainingListener() {
          @Override
          public void onEvent(String message) {
            events.add(message);
          }
        });
    server.start();
    channel = InProcessChannelBuilder.forName(name).build();
    blocking = ParameterServerGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
    async = ParameterServerGrpc.newStub(channel);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < workers; i++) {
      JoinResponse joined = blocking.join(JoinRequest.newBuilder().setWorkerName("raw-" + i).build());
      ids.add(joined.getWorkerId());
    }
    for (String id : ids) {
      blocking.ready(ReadyRequest.newBuilder().setWorkerId(id).setDataDigest(DATA.train().sha256())
          .setTrainCount(DATA.train().count()).build());
    }
    workerId = ids.get(0);
    return ids;
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow();
    server.stop();
  }

  private WeightsHeader pull() {
    Iterator<PullChunk> it = blocking.pullWeights(PullRequest.newBuilder().setWorkerId(workerId).setStep(0).build());
    WeightsHeader h = it.next().getHeader();
    it.forEachRemaining(c -> {});
    return h;
  }

  private PushHeader.Builder header(int first, int end, PushHeader.Encoding encoding) {
    PushHeader.Builder h = PushHeader.newBuilder().setWorkerId(workerId).setStep(0).setShardFirst(first)
        .setShardEnd(end).setEncoding(encoding);
    for (int i = first; i < end; i++) {
      h.addShardLoss(1.0);
    }
    return h;
  }


  private PushResponse push(PushHeader header, List<TensorChunk> chunks) throws Exception {
    return RawPushes.push(async, header, chunks);
  }

  /** Fixed-point zero gradients for every tensor, PACKED64. */
  private List<TensorChunk> zeros() {
    Network shape = new Network(spec);
    List<TensorChunk> chunks = new ArrayList<>();
    for (int t = 0; t < shape.tensorCount(); t++) {
      chunks.addAll(PushCodec.packed64(t, new long[shape.tensor(t).length]));
    }
    return chunks;
  }

  private StatusRuntimeException refused(PushHeader.Builder h, List<TensorChunk> chunks) {
    return assertThrows(StatusRuntimeException.class, () -> push(h.build(), chunks));
  }

  @Test
  void aNaNGradientIsRefusedNamingTheTensorAndChangesNothing() throws Exception {
    start(2); // two workers, one micro-shard each: FLOAT32 pushes, whose floats the server checks
    WeightsHeader h = pull();
    assertEquals(WeightsHeader.State.READY, h.getState());
    assertEquals(1, h.getShardEnd() - h.getShardFirst());
    String before = server.coordinator().networkSha256();
    // one micro-shard per push in FLOAT32: the server itself sees the floats
    Network shape = new Network(spec);
    List<TensorChunk> chunks = new ArrayList<>();
    for (int t = 0; t < shape.tensorCount(); t++) {
      float[] g = new float[shape.tensor(t).length];
      if (t == 2) {
        g[3] = Float.NaN;
      }
      chunks.addAll(TensorChunks.ofFloats(t, g));
    }
    StatusRuntimeException e = refused(header(0, 1, PushHeader.Encoding.FLOAT32), chunks);
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("gradient layer1.W[3] = NaN"), e.getStatus().getDescription());
    assertEquals(before, server.coordinator().networkSha256());
    assertEquals(0, server.coordinator().step());
    // the same push without the NaN is accepted: nothing of the refused one stuck
    chunks.set(2, TensorChunks.ofFloats(2, new float[15]).get(0));
    assertFalse(push(header(0, 1, PushHeader.Encoding.FLOAT32).build(), chunks).getDuplicate());
  }

  @Test
  void aFloatPushMustCarryExactlyOneMicroShard() throws Exception {
    pull();
    Network shape = new Network(spec);
    List<TensorChunk> chunks = new ArrayList<>();
    for (int t = 0; t < shape.tensorCount(); t++) {
      chunks.addAll(TensorChunks.ofFloats(t, new float[shape.tensor(t).length]));
    }
    StatusRuntimeException e = refused(header(0, 2, PushHeader.Encoding.FLOAT32), chunks);
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("exactly one micro-shard"), e.getStatus().getDescription());
  }

  @Test
  void aWrongShapeIsRefusedWithTheNumbers() throws Exception {
    pull();
    List<TensorChunk> chunks = zeros();
    // layer0.W is 5x2 = 10 elements; send 12
    chunks.set(0, PushCodec.packed64(0, new long[12]).get(0));
    StatusRuntimeException e = refused(header(0, 2, PushHeader.Encoding.PACKED64), chunks);
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("layer0.W chunk covers elements [0, 12): expected within [0, 10)"),
        e.getStatus().getDescription());
    assertEquals(0, server.coordinator().step());
  }

  @Test
  void aMissingTensorIsRefused() throws Exception {
    pull();
    List<TensorChunk> chunks = zeros();
    chunks.remove(chunks.size() - 1);
    StatusRuntimeException e = refused(header(0, 2, PushHeader.Encoding.PACKED64), chunks);
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("push ended with 0 of 3 elements of layer1.b"), e.getStatus().getDescription());
    assertEquals(0, server.coordinator().step());
  }

  @Test
  void chunksOutOfOrderAreRefused() throws Exception {
    pull();
    List<TensorChunk> chunks = new ArrayList<>(zeros());
    TensorChunk w = chunks.get(0);
    chunks.set(0, PushCodec.packed64(w.getTensor(), new long[8]).get(0).toBuilder().setOffset(2).build());
    StatusRuntimeException e = refused(header(0, 2, PushHeader.Encoding.PACKED64), chunks);
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("expected element 0"), e.getStatus().getDescription());
  }

  @Test
  void aStrangerOrAWrongStepOrRangeIsAFailedPrecondition() throws Exception {
    pull();
    StatusRuntimeException stranger = refused(header(0, 2, PushHeader.Encoding.PACKED64).setWorkerId("nobody"), zeros());
    assertEquals(Status.Code.FAILED_PRECONDITION, stranger.getStatus().getCode());
    StatusRuntimeException future = refused(header(0, 2, PushHeader.Encoding.PACKED64).setStep(3), zeros());
    assertEquals(Status.Code.FAILED_PRECONDITION, future.getStatus().getCode());
    assertTrue(future.getStatus().getDescription().contains("push for step 3 but the job is at step 0"));
    StatusRuntimeException range = refused(header(0, 1, PushHeader.Encoding.PACKED64), zeros());
    assertEquals(Status.Code.FAILED_PRECONDITION, range.getStatus().getCode());
    assertTrue(range.getStatus().getDescription().contains("was assigned [0, 2)"), range.getStatus().getDescription());
    assertEquals(0, server.coordinator().step());
  }

  @Test
  void aDuplicatePushIsIdempotent() throws Exception {
    pull();
    PushResponse first = push(header(0, 2, PushHeader.Encoding.PACKED64).build(), zeros());
    assertFalse(first.getDuplicate());
    assertEquals(1, server.coordinator().step());
    String after = server.coordinator().networkSha256();
    PushResponse again = push(header(0, 2, PushHeader.Encoding.PACKED64).build(), zeros());
    assertTrue(again.getDuplicate());
    assertEquals(1, server.coordinator().step());
    assertEquals(after, server.coordinator().networkSha256());
  }

  @Test
  void aFixedPointValueOutOfRangeIsRefused() throws Exception {
    pull();
    List<TensorChunk> chunks = zeros();
    long[] huge = new long[10];
    huge[4] = Long.MAX_VALUE;
    chunks.set(0, PushCodec.packed64(0, huge).get(0));
    StatusRuntimeException e = refused(header(0, 2, PushHeader.Encoding.PACKED64), chunks);
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("layer0.W[4]"), e.getStatus().getDescription());
  }

  /** Starts a pull; the future completes with its header once the whole answer arrived. */
  private CompletableFuture<WeightsHeader> pullAsync(PullRequest request) {
    CompletableFuture<WeightsHeader> done = new CompletableFuture<>();
    async.withDeadlineAfter(20, TimeUnit.SECONDS).pullWeights(request, new StreamObserver<>() {
      private WeightsHeader header;

      @Override
      public void onNext(PullChunk c) {
        if (header == null) {
          header = c.getHeader();
        }
      }

      @Override
      public void onError(Throwable t) {
        done.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {
        done.complete(header);
      }
    });
    return done;
  }

  @Test
  void aPullAskedBeforeItsPushLandsWaitsForTheNextStep() throws Exception {
    assertEquals(0, pull().getStep());
    CompletableFuture<WeightsHeader> next = pullAsync(
        PullRequest.newBuilder().setWorkerId(workerId).setStep(1).setPushedFirst(0).setPushedEnd(2).build());
    Thread.sleep(100);
    assertFalse(next.isDone(), "the pull must wait while micro-shards [0, 2) of step 1 are on their way");
    assertFalse(push(header(0, 2, PushHeader.Encoding.PACKED64).build(), zeros()).getDuplicate());
    WeightsHeader h = next.get(20, TimeUnit.SECONDS);
    assertEquals(WeightsHeader.State.READY, h.getState());
    assertEquals(1, h.getStep());
    assertEquals(0, h.getShardFirst());
    assertEquals(2, h.getShardEnd());
  }

  @Test
  void aWaitingPullIsAnsweredNotYetAfterItsTimeout() throws Exception {
    pull();
    CompletableFuture<WeightsHeader> next = pullAsync(
        PullRequest.newBuilder().setWorkerId(workerId).setStep(1).setPushedFirst(0).setPushedEnd(2).build());
    WeightsHeader h = next.get(ParameterService.PULL_WAIT_MILLIS + 10_000, TimeUnit.MILLISECONDS);
    assertEquals(WeightsHeader.State.NOT_YET, h.getState());
    assertEquals(0, server.coordinator().step());
  }
}
