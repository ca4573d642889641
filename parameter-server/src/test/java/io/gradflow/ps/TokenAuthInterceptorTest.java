package io.gradflow.ps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.data.SyntheticData;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.train.TrainingListener;
import io.gradflow.proto.JoinRequest;
import io.gradflow.proto.JoinResponse;
import io.gradflow.proto.ParameterServerGrpc;
import io.gradflow.proto.PullRequest;
import io.gradflow.proto.PushChunk;
import io.gradflow.proto.PushResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The token interceptor in front of a real parameter server, called through raw stubs. */
class TokenAuthInterceptorTest {
  private static final String TOKEN = "0123456789abcdef0123456789abcdef";

  private final List<String> log = new CopyOnWriteArrayList<>();
  private ParameterServer server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    String name = InProcessServerBuilder.generateName();
    TrainingConfig config = new TrainingConfig(
        "spirals", 30, 6, 0.1, 0.9, 1e-4, LearningRateSchedule.Kind.COSINE, 3, 0, 0.1, 2, 25, 9, "ejml");
    server = new ParameterServer(
        InProcessServerBuilder.forName(name).directExecutor().intercept(new TokenAuthInterceptor(TOKEN, log::add)),
        new ServerJob(Network.initialize(ModelSpec.parse("2-16-16-3", "tanh", "", 5)), config,
            SyntheticData.spirals(3, 200, 0.2, 42), 1),
        new TrainingListener() {});
    server.start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow();
    server.stop();
  }

  private ParameterServerGrpc.ParameterServerBlockingStub stub(String authorization) {
    var stub = ParameterServerGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    if (authorization == null) {
      return stub;
    }
    Metadata headers = new Metadata();
    headers.put(TokenAuthInterceptor.AUTHORIZATION, authorization);
    return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  private static void assertRefused(Runnable call) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::run);
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
    assertEquals("missing or wrong job token", e.getStatus().getDescription());
  }

  @Test
  void aCallWithoutTokenIsRefusedAndLogged() {
    assertRefused(() -> stub(null).join(JoinRequest.getDefaultInstance()));
    assertEquals(1, log.size(), log.toString());
    String line = log.get(0);
    assertTrue(line.startsWith("refused gradflow.v1.ParameterServer/Join from "), line);
    assertTrue(line.contains("no job token"), line);
    assertTrue(!line.contains(TOKEN), "the log must not show tokens: " + line);
  }

  @Test
  void aWrongTokenIsRefusedWhateverItsLength() {
    assertRefused(() -> stub("Bearer 0123456789abcdef0123456789abcdeF").join(JoinRequest.getDefaultInstance()));
    assertRefused(() -> stub("Bearer " + TOKEN + "0").join(JoinRequest.getDefaultInstance()));
    assertRefused(() -> stub("Bearer ").join(JoinRequest.getDefaultInstance()));
    assertRefused(() -> stub(TOKEN).join(JoinRequest.getDefaultInstance()));
    assertRefused(() -> stub("bearer " + TOKEN).join(JoinRequest.getDefaultInstance()));
    assertEquals(5, log.size(), log.toString());
    assertTrue(log.stream().allMatch(l -> l.contains("wrong job token")), log.toString());
  }

  @Test
  void everyMethodIsGuarded() throws Exception {
    // server streaming
    assertRefused(() -> stub(null).pullWeights(PullRequest.newBuilder().setWorkerId("w").build()).hasNext());
    // client streaming
    CompletableFuture<PushResponse> done = new CompletableFuture<>();
    StreamObserver<PushChunk> out = ParameterServerGrpc.newStub(channel).pushGradients(new StreamObserver<>() {
      @Override public void onNext(PushResponse r) { done.complete(r); }
      @Override public void onError(Throwable t) { done.completeExceptionally(t); }
      @Override public void onCompleted() {}
    });
    out.onNext(PushChunk.getDefaultInstance());
    out.onCompleted();
    ExecutionException e = assertThrows(ExecutionException.class, () -> done.get(10, TimeUnit.SECONDS));
    assertEquals(Status.Code.UNAUTHENTICATED, Status.fromThrowable(e.getCause()).getCode());
    assertTrue(log.stream().anyMatch(l -> l.contains("/PullWeights")), log.toString());
    assertTrue(log.stream().anyMatch(l -> l.contains("/PushGradients")), log.toString());
  }

  @Test
  void theRightTokenGetsThrough() {
    JoinResponse r = stub("Bearer " + TOKEN).join(JoinRequest.newBuilder().setWorkerName("w0").build());
    assertEquals(0, r.getRank());
    assertTrue(log.isEmpty(), log.toString());
  }

  @Test
  void anEmptyOrUnprintableTokenIsRejectedUpFront() {
    assertThrows(IllegalArgumentException.class, () -> new TokenAuthInterceptor("", l -> {}));
    assertThrows(IllegalArgumentException.class, () -> new TokenAuthInterceptor("two words", l -> {}));
  }
}
