package io.gradflow.ps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.data.SyntheticData;
import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.train.TrainingListener;
import io.gradflow.common.wire.ExchangeMethods;
import io.gradflow.common.wire.PushCodec;
import io.gradflow.common.wire.PushPrecision;
import io.gradflow.proto.JoinRequest;
import io.gradflow.proto.JoinResponse;
import io.gradflow.proto.ParameterServerGrpc;
import io.gradflow.proto.PullRequest;
import io.gradflow.proto.PushChunk;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.PushResponse;
import io.gradflow.proto.ReadyRequest;
import io.gradflow.proto.TensorChunk;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.ServerBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The server parses pushes that arrive over a real socket without copying their chunks
 * ({@link ExchangeMethods#PUSH_CHUNKS}): every push encoding gives the same weights, to the bit, as
 * the same push through the in-process transport (which copies), every parsed message is given back
 * to the transport, and malformed input is refused as before.
 */
class ZeroCopyPushTest {
  private static final TrainTestSplit DATA = SyntheticData.spirals(3, 100, 0.2, 42);
  private final ModelSpec spec = ModelSpec.parse("2-40-3", "tanh", "", 5);
  private final List<ParameterServer> servers = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();

  private TrainingConfig config(PushPrecision precision, int microShards) {
    return new TrainingConfig("spirals", 30, microShards, 0.1, 0.9, 0, LearningRateSchedule.Kind.CONSTANT, 0, 0, 0.1, 1, 5, 9, "ejml",
        precision);
  }

  /** A started server for one worker, over TCP (Netty) or in-process. */
  private ManagedChannel server(boolean socket, PushPrecision precision, int microShards) throws Exception {
    String name = InProcessServerBuilder.generateName();
    ServerBuilder<?> builder = socket
        ? NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).directExecutor()
        : InProcessServerBuilder.forName(name).directExecutor();
    ParameterServer s = new ParameterServer(builder, new ServerJob(Network.initialize(spec), config(precision, microShards), DATA, 1),
        new TrainingListener() {});
    servers.add(s.start());
    ManagedChannel channel = socket
        ? NettyChannelBuilder.forAddress("127.0.0.1", s.port()).usePlaintext().build()
        : InProcessChannelBuilder.forName(name).build();
    channels.add(channel);
    return channel;
  }

  @AfterEach
  void stop() throws Exception {
    for (ManagedChannel c : channels) {
      c.shutdownNow();
    }
    for (ParameterServer s : servers) {
      s.stop();
    }
  }

  private static String joinReady(ManagedChannel c) {
    var blocking = ParameterServerGrpc.newBlockingStub(c).withDeadlineAfter(20, TimeUnit.SECONDS);
    JoinResponse joined = blocking.join(JoinRequest.newBuilder().setWorkerName("raw").build());
    blocking.ready(ReadyRequest.newBuilder().setWorkerId(joined.getWorkerId()).setDataDigest(DATA.train().sha256())
        .setTrainCount(DATA.train().count()).build());
    blocking.pullWeights(PullRequest.newBuilder().setWorkerId(joined.getWorkerId()).setStep(0).build()).forEachRemaining(x -> {});
    return joined.getWorkerId();
  }

  private static PushHeader header(String id, int first, int end, PushHeader.Encoding e) {
    PushHeader.Builder h = PushHeader.newBuilder().setWorkerId(id).setStep(0).setShardFirst(first).setShardEnd(end).setEncoding(e);
    for (int m = first; m < end; m++) {
      h.addShardLoss(1.0);
    }
    return h.build();
  }

  private static PushResponse push(ManagedChannel c, PushHeader header, List<TensorChunk> chunks) throws Exception {
    return RawPushes.push(ParameterServerGrpc.newStub(c), header, chunks);
  }

  /** Gradients with every element different and of mixed sizes, so PACKED64 needs several widths. */
  private Gradients gradients() {
    Gradients g = new Gradients(spec);
    for (int t = 0; t < g.tensorCount(); t++) {
      float[] v = g.tensor(t);
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) (Math.sin(i * 0.7 + t) * Math.pow(10, -(i % 7)));
      }
    }
    return g;
  }

  private List<TensorChunk> chunks(PushHeader.Encoding e) {
    Gradients g = gradients();
    ExactGradientSum sum = new ExactGradientSum(new Network(spec));
    g.addTo(sum);
    g.addTo(sum);
    return PushCodec.encode(e, sum, g);
  }

  /** The weights after one step of the push {@code e} of {@code [first, end)}, through the socket and in-process: they must agree. */
  private void sameWeightsBothWays(PushHeader.Encoding e, PushPrecision precision, int first, int end) throws Exception {
    long aliasedBefore = ExchangeMethods.PUSH_CHUNKS.aliasedCount();
    String[] sha = new String[2];
    for (int way = 0; way < 2; way++) {
      ManagedChannel c = server(way == 0, precision, end - first);
      String id = joinReady(c);
      push(c, header(id, first, end, e), chunks(e));
      ParameterServer s = servers.get(servers.size() - 1);
      assertEquals(1, s.coordinator().step());
      sha[way] = s.coordinator().networkSha256();
    }
    assertEquals(sha[1], sha[0], e + ": the socket's zero-copy parse and the in-process copy give the same weights");
    assertTrue(ExchangeMethods.PUSH_CHUNKS.aliasedCount() > aliasedBefore, "the socket's chunks were parsed without a copy");
    assertEquals(0, ExchangeMethods.PUSH_CHUNKS.lentCount(), "every parsed message was given back");
  }

  @Test
  void everyPushEncodingGivesTheSameWeightsThroughTheSocketAsInProcess() throws Exception {
    sameWeightsBothWays(PushHeader.Encoding.FLOAT32, PushPrecision.FP32, 0, 1);
    sameWeightsBothWays(PushHeader.Encoding.PACKED64, PushPrecision.FP32, 0, 2);
    sameWeightsBothWays(PushHeader.Encoding.BF16, PushPrecision.BF16, 0, 2);
  }

  @Test
  void aBadChunkThroughTheSocketIsRefusedAsBeforeAndGivenBack() throws Exception {
    ManagedChannel c = server(true, PushPrecision.FP32, 1);
    String id = joinReady(c);
    List<TensorChunk> chunks = new ArrayList<>(chunks(PushHeader.Encoding.FLOAT32));
    float[] nan = new float[3];
    nan[1] = Float.NaN;
    chunks.set(0, io.gradflow.common.wire.TensorChunks.ofFloats(3, nan).get(0));
    StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
        () -> push(c, header(id, 0, 1, PushHeader.Encoding.FLOAT32), chunks));
    assertEquals(Status.Code.INVALID_ARGUMENT, refused.getStatus().getCode());
    assertTrue(refused.getStatus().getDescription().contains("layer1.b[1] = NaN"), refused.getStatus().getDescription());
    assertEquals(0, servers.get(0).coordinator().step());
    assertEquals(0, ExchangeMethods.PUSH_CHUNKS.lentCount());
  }

  /** Sends bytes that are no PushChunk; returns the Status the server ended the call with. */
  private static Status garbagePush(ManagedChannel c) throws Exception {
    MethodDescriptor.Marshaller<byte[]> raw = new MethodDescriptor.Marshaller<>() {
      @Override
      public InputStream stream(byte[] value) {
        return new ByteArrayInputStream(value);
      }

      @Override
      public byte[] parse(InputStream stream) {
        throw new UnsupportedOperationException();
      }
    };
    MethodDescriptor<byte[], PushResponse> garbage = ExchangeMethods.PUSH.toBuilder(raw, ExchangeMethods.PUSH.getResponseMarshaller()).build();
    CompletableFuture<PushResponse> done = new CompletableFuture<>();
    StreamObserver<byte[]> out = ClientCalls.asyncClientStreamingCall(
        c.newCall(garbage, CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS)), RawPushes.answerInto(done));
    out.onNext(new byte[] {(byte) 0x0a, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0x0f, 1, 2}); // a length beyond the message
    out.onCompleted();
    return assertThrows(StatusRuntimeException.class, () -> RawPushes.await(done)).getStatus();
  }

  @Test
  void bytesThatAreNoPushChunkAreRefusedAsThroughTheCopyingParserAndTheServerGoesOn() throws Exception {
    Status copying = garbagePush(server(false, PushPrecision.FP32, 2));
    ManagedChannel c = server(true, PushPrecision.FP32, 2);
    String id = joinReady(c);
    Status zeroCopy = garbagePush(c);
    assertTrue(zeroCopy.getCode() != Status.Code.OK);
    assertEquals(copying.getCode(), zeroCopy.getCode(), zeroCopy + " vs " + copying);
    assertEquals(0, ExchangeMethods.PUSH_CHUNKS.lentCount());
    push(c, header(id, 0, 2, PushHeader.Encoding.PACKED64), chunks(PushHeader.Encoding.PACKED64));
    assertEquals(1, servers.get(1).coordinator().step());
  }
}
