package io.gradflow.ps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.data.SyntheticData;
import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.shm.SharedPushArea;
import io.gradflow.common.shm.SharedWeights;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.train.TrainingListener;
import io.gradflow.common.wire.PushCodec;
import io.gradflow.common.shm.ExchangeFrames;
import io.gradflow.proto.ExchangeReply;
import io.gradflow.proto.ExchangeRequest;
import io.gradflow.proto.JoinRequest;
import io.gradflow.proto.JoinResponse;
import io.gradflow.proto.ParameterServerGrpc;
import io.gradflow.proto.PullChunk;
import io.gradflow.proto.PullRequest;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.PushResponse;
import io.gradflow.proto.ReadyRequest;
import io.gradflow.proto.Refusal;
import io.gradflow.proto.TensorChunk;
import io.gradflow.proto.WeightsHeader;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The server's shared-memory data plane: a worker that maps it gets the weights in the shared file
 * (no chunks) and pushes through its push file to the same sums as a PACKED64 push through the
 * socket; a bad shared push is refused with a Status and changes nothing; a worker off the plane
 * cannot push that way; the Exchange stream (the gRPC call and the plane's exchange socket) carries
 * a plane worker's pulls and pushes, answers a refusal with the call's Status and stays open; on
 * the socket a push and the pull sent with it are answered in one write, and the connection's
 * thread is not woken when its worker reads a reply; a connection to the socket that sends what is
 * not a frame is closed; the files go when the server stops, and those of a killed server go when
 * the next one starts.
 */
class SharedMemoryPlaneTest {
  private static final TrainTestSplit DATA = SyntheticData.spirals(3, 100, 0.2, 42);
  private final ModelSpec spec = ModelSpec.parse("2-5-3", "tanh", "", 5);
  private final TrainingConfig config = new TrainingConfig("spirals", 30, 2, 0.1, 0.9, 0, LearningRateSchedule.Kind.CONSTANT,
      0, 0, 0.1, 1, 5, 9, "ejml");
  @TempDir Path root;
  private final List<ParameterServer> servers = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();

  /** A started server, with the shared-memory plane under {@link #root} when {@code shared}. */
  private ParameterServerGrpc.ParameterServerStub server(boolean shared) throws Exception {
    String name = InProcessServerBuilder.generateName();
    ParameterServer s = new ParameterServer(InProcessServerBuilder.forName(name).directExecutor(),
        new ServerJob(Network.initialize(spec), config, DATA, 1), new TrainingListener() {});
    if (shared) {
      s.sharedMemory(root);
    }
    servers.add(s.start());
    ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
    channels.add(channel);
    return ParameterServerGrpc.newStub(channel);
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

  private static ParameterServerGrpc.ParameterServerBlockingStub blocking(ParameterServerGrpc.ParameterServerStub s) {
    return ParameterServerGrpc.newBlockingStub(s.getChannel()).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  private JoinResponse joinReady(ParameterServerGrpc.ParameterServerStub s, boolean sharedMemory) {
    JoinResponse joined = blocking(s).join(JoinRequest.newBuilder().setWorkerName("raw").build());
    blocking(s).ready(ReadyRequest.newBuilder().setWorkerId(joined.getWorkerId()).setDataDigest(DATA.train().sha256())
        .setTrainCount(DATA.train().count()).setSharedMemory(sharedMemory).build());
    return joined;
  }

  private static List<PullChunk> pull(ParameterServerGrpc.ParameterServerStub s, String id) {
    Iterator<PullChunk> it = blocking(s).pullWeights(PullRequest.newBuilder().setWorkerId(id).setStep(0).build());
    List<PullChunk> all = new ArrayList<>();
    it.forEachRemaining(all::add);
    return all;
  }

  private static PushHeader header(String id, PushHeader.Encoding encoding) {
    return PushHeader.newBuilder().setWorkerId(id).setStep(0).setShardFirst(0).setShardEnd(2).setEncoding(encoding)
        .addShardLoss(1.0).addShardLoss(2.0).build();
  }

  private static PushResponse push(ParameterServerGrpc.ParameterServerStub s, PushHeader header, List<TensorChunk> chunks)
      throws Exception {
    return RawPushes.push(s, header, chunks);
  }

  /** A gradient sum with every element different, signs mixed. */
  private ExactGradientSum someSums() {
    ExactGradientSum sum = new ExactGradientSum(new Network(spec));
    for (int t = 0; t < sum.tensorCount(); t++) {
      for (int i = 0; i < sum.tensor(t).length; i++) {
        sum.tensor(t)[i] = ((i * 7919L + t * 104729L) % 2001 - 1000) << 28;
      }
    }
    return sum;
  }

  private int[] lengths() {
    return new Network(spec).tensorLengths();
  }

  @Test
  void aPushThroughSharedMemoryGivesTheWeightsOfTheSamePushThroughTheSocket() throws Exception {
    // through the socket
    ParameterServerGrpc.ParameterServerStub socket = server(false);
    JoinResponse plain = joinReady(socket, false);
    assertTrue(plain.getSharedMemoryDir().isEmpty());
    assertTrue(pull(socket, plain.getWorkerId()).size() > 1, "the weights come as chunks");
    List<TensorChunk> packed = new ArrayList<>();
    ExactGradientSum sum = someSums();
    for (int t = sum.tensorCount() - 1; t >= 0; t--) {
      packed.addAll(PushCodec.packed64(t, sum.tensor(t)));
    }
    push(socket, header(plain.getWorkerId(), PushHeader.Encoding.PACKED64), packed);

    // through shared memory
    ParameterServerGrpc.ParameterServerStub shared = server(true);
    JoinResponse joined = joinReady(shared, true);
    Path dir = Path.of(joined.getSharedMemoryDir());
    assertTrue(dir.startsWith(root), dir.toString());
    List<PullChunk> answer = pull(shared, joined.getWorkerId());
    assertEquals(1, answer.size(), "no chunks: the weights are in the shared file");
    WeightsHeader h = answer.get(0).getHeader();
    assertEquals(WeightsHeader.State.READY, h.getState());
    assertTrue(h.getWeightsInSharedMemory());
    Network read = new Network(spec);
    assertTrue(SharedWeights.open(dir.resolve(SharedWeights.FILE_NAME), lengths(), joined.getSharedMemoryToken()).read(0, read));
    assertEquals(servers.get(1).coordinator().networkSha256(), read.sha256());

    SharedPushArea area = SharedPushArea.open(SharedPushArea.fileFor(dir, joined.getWorkerId()), lengths(),
        joined.getSharedMemoryToken());
    area.write(sum);
    assertFalse(push(shared, header(joined.getWorkerId(), PushHeader.Encoding.SHARED_FIXED64), List.of()).getDuplicate());

    assertEquals(1, servers.get(0).coordinator().step());
    assertEquals(1, servers.get(1).coordinator().step());
    assertEquals(servers.get(0).coordinator().networkSha256(), servers.get(1).coordinator().networkSha256());
  }

  @Test
  void aBadSharedPushIsRefusedAndChangesNothing() throws Exception {
    ParameterServerGrpc.ParameterServerStub shared = server(true);
    JoinResponse joined = joinReady(shared, true);
    pull(shared, joined.getWorkerId());
    Path dir = Path.of(joined.getSharedMemoryDir());
    SharedPushArea area = SharedPushArea.open(SharedPushArea.fileFor(dir, joined.getWorkerId()), lengths(),
        joined.getSharedMemoryToken());
    String before = servers.get(0).coordinator().networkSha256();
    ExactGradientSum sum = someSums();
    sum.tensor(2)[7] = Long.MIN_VALUE;
    area.write(sum);
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> push(shared, header(joined.getWorkerId(), PushHeader.Encoding.SHARED_FIXED64), List.of()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("layer1.W[7]"), e.getStatus().getDescription());

    area.write(someSums());
    List<TensorChunk> stray = PushCodec.packed64(0, new long[10]);
    e = assertThrows(StatusRuntimeException.class,
        () -> push(shared, header(joined.getWorkerId(), PushHeader.Encoding.SHARED_FIXED64), stray));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("carries no chunks"), e.getStatus().getDescription());

    assertEquals(0, servers.get(0).coordinator().step());
    assertEquals(before, servers.get(0).coordinator().networkSha256());
    assertFalse(push(shared, header(joined.getWorkerId(), PushHeader.Encoding.SHARED_FIXED64), List.of()).getDuplicate());
    assertEquals(1, servers.get(0).coordinator().step());
  }

  /** One exchange stream: the gRPC Exchange call or the plane's exchange socket; requests sent one by one. */
  private abstract static class Exchange {
    abstract ExchangeReply send(ExchangeRequest request) throws Exception;

    ExchangeReply pull(String id, long step) throws Exception {
      return send(ExchangeRequest.newBuilder().setPull(PullRequest.newBuilder().setWorkerId(id).setStep(step)).build());
    }

    ExchangeReply push(PushHeader header) throws Exception {
      return send(ExchangeRequest.newBuilder().setPush(header).build());
    }
  }

  /** The Exchange call: its replies in a queue. */
  private static final class CallExchange extends Exchange implements StreamObserver<ExchangeReply> {
    private final BlockingQueue<ExchangeReply> replies = new LinkedBlockingQueue<>();
    private final StreamObserver<ExchangeRequest> requests;

    CallExchange(ParameterServerGrpc.ParameterServerStub s) {
      requests = s.exchange(this);
    }

    @Override
    ExchangeReply send(ExchangeRequest request) throws InterruptedException {
      requests.onNext(request);
      ExchangeReply r = replies.poll(20, TimeUnit.SECONDS);
      assertNotNull(r, "no reply to " + request);
      return r;
    }

    @Override
    public void onNext(ExchangeReply r) {
      replies.add(r);
    }

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}
  }

  /** The exchange socket in the plane's directory {@code dir}: frames written and read on this thread. */
  private static final class SocketExchange extends Exchange {
    private final SocketChannel socket;
    private final ExchangeFrames.Reader<ExchangeReply> replies = new ExchangeFrames.Reader<>(ExchangeReply.parser());

    SocketExchange(Path dir) throws IOException {
      socket = SocketChannel.open(UnixDomainSocketAddress.of(dir.resolve(ExchangeFrames.SOCKET_NAME)));
    }

    @Override
    ExchangeReply send(ExchangeRequest request) throws IOException {
      ExchangeFrames.write(socket, request);
      return next();
    }

    ExchangeReply next() throws IOException {
      ExchangeReply r;
      while ((r = replies.next()) == null) {
        replies.fill(socket);
      }
      return r;
    }

    /** The replies that one read of the socket brings (it waits for the first bytes). */
    List<ExchangeReply> readOnce() throws IOException {
      replies.fill(socket);
      List<ExchangeReply> read = new ArrayList<>();
      for (ExchangeReply r; (r = replies.next()) != null; ) {
        read.add(r);
      }
      return read;
    }
  }

  /** Voluntary context switches so far of each of this JVM's threads named {@code gradflow-exchange-*} (the server's connection threads), by thread id. */
  private static java.util.Map<String, Long> exchangeThreadSwitches() throws IOException {
    java.util.Map<String, Long> switches = new java.util.HashMap<>();
    try (var tasks = Files.list(Path.of("/proc/self/task"))) {
      for (Path task : tasks.toList()) {
        try {
          if (!Files.readString(task.resolve("comm")).strip().startsWith("gradflow-exchan")) { // the kernel keeps 15 characters
            continue;
          }
          for (String line : Files.readAllLines(task.resolve("status"))) {
            if (line.startsWith("voluntary_ctxt_switches:")) {
              switches.put(task.getFileName().toString(), Long.parseLong(line.substring(line.indexOf(':') + 1).strip()));
            }
          }
        } catch (IOException gone) {
          // the thread ended meanwhile
        }
      }
    }
    return switches;
  }

  private Exchange exchange(boolean overSocket, ParameterServerGrpc.ParameterServerStub s, JoinResponse joined) throws IOException {
    return overSocket ? new SocketExchange(Path.of(joined.getSharedMemoryDir())) : new CallExchange(s);
  }

  @ParameterizedTest(name = "over the exchange socket: {0}")
  @ValueSource(booleans = {false, true})
  void theExchangeStreamCarriesPullsAndPushesAndARefusalLeavesItOpen(boolean overSocket) throws Exception {
    ParameterServerGrpc.ParameterServerStub shared = server(true);
    JoinResponse joined = joinReady(shared, true);
    String id = joined.getWorkerId();
    Exchange stream = exchange(overSocket, shared, joined);
    ExchangeReply first = stream.pull(id, 0);
    assertEquals(WeightsHeader.State.READY, first.getWeights().getState());
    assertTrue(first.getWeights().getWeightsInSharedMemory());
    assertEquals(0, first.getWeights().getTensorCount());

    SharedPushArea area = SharedPushArea.open(SharedPushArea.fileFor(Path.of(joined.getSharedMemoryDir()), id), lengths(),
        joined.getSharedMemoryToken());
    String before = servers.get(0).coordinator().networkSha256();
    ExactGradientSum bad = someSums();
    bad.tensor(2)[7] = Long.MIN_VALUE;
    area.write(bad);
    Refusal refused = stream.push(header(id, PushHeader.Encoding.SHARED_FIXED64)).getRefused();
    assertTrue(refused.getPush());
    assertEquals(Status.Code.INVALID_ARGUMENT.value(), refused.getCode());
    assertTrue(refused.getDescription().contains("layer1.W[7]"), refused.getDescription());
    assertEquals(before, servers.get(0).coordinator().networkSha256());
    refused = stream.push(header(id, PushHeader.Encoding.PACKED64)).getRefused();
    assertEquals(Status.Code.INVALID_ARGUMENT.value(), refused.getCode());
    assertTrue(refused.getDescription().contains("SHARED_FIXED64"), refused.getDescription());

    area.write(someSums());
    ExchangeReply pushed = stream.push(header(id, PushHeader.Encoding.SHARED_FIXED64));
    assertTrue(pushed.hasPushed(), pushed.toString());
    assertFalse(pushed.getPushed().getDuplicate());
    assertEquals(1, servers.get(0).coordinator().step());
    ExchangeReply next = stream.pull(id, 1);
    assertEquals(WeightsHeader.State.READY, next.getWeights().getState());
    assertEquals(1, next.getWeights().getStep());

    refused = stream.pull("nobody", 1).getRefused();
    assertFalse(refused.getPush());
    assertTrue(refused.getRejoin(), "an unknown worker is asked to join again");
  }

  @ParameterizedTest(name = "over the exchange socket: {0}")
  @ValueSource(booleans = {false, true})
  void aWorkerOffThePlaneIsRefusedTheExchangeStream(boolean overSocket) throws Exception {
    ParameterServerGrpc.ParameterServerStub shared = server(true);
    JoinResponse joined = joinReady(shared, false);
    Refusal refused = exchange(overSocket, shared, joined).pull(joined.getWorkerId(), 0).getRefused();
    assertEquals(Status.Code.FAILED_PRECONDITION.value(), refused.getCode());
    assertTrue(refused.getDescription().contains("shared-memory data plane"), refused.getDescription());
  }

  @Test
  void aPushAndThePullSentWithItAreAnsweredInOneWrite() throws Exception {
    ParameterServerGrpc.ParameterServerStub shared = server(true);
    JoinResponse joined = joinReady(shared, true);
    String id = joined.getWorkerId();
    SocketExchange stream = new SocketExchange(Path.of(joined.getSharedMemoryDir()));
    assertEquals(WeightsHeader.State.READY, stream.pull(id, 0).getWeights().getState());
    SharedPushArea.open(SharedPushArea.fileFor(Path.of(joined.getSharedMemoryDir()), id), lengths(),
        joined.getSharedMemoryToken()).write(someSums());

    // The push completes step 1 (this worker has both micro-shards), so the pull sent with it is
    // answered at once: its answer and the acknowledgement come back in one write, one wake-up.
    ExchangeFrames.write(stream.socket, List.of(
        ExchangeRequest.newBuilder().setPush(header(id, PushHeader.Encoding.SHARED_FIXED64)).build(),
        ExchangeRequest.newBuilder().setPull(PullRequest.newBuilder().setWorkerId(id).setStep(1)).build()));
    List<ExchangeReply> read = stream.readOnce();
    assertEquals(2, read.size(), "the acknowledgement and the answer in one read: " + read);
    assertTrue(read.get(0).hasPushed(), read.toString());
    assertEquals(WeightsHeader.State.READY, read.get(1).getWeights().getState());
    assertEquals(1, read.get(1).getWeights().getStep());
  }

  @Test
  void theServersThreadIsNotWokenWhenItsWorkerReadsAReply() throws Exception {
    ParameterServerGrpc.ParameterServerStub shared = server(true);
    JoinResponse joined = joinReady(shared, true);
    java.util.Set<String> earlier = exchangeThreadSwitches().keySet(); // the acceptor, threads of other tests
    SocketExchange stream = new SocketExchange(Path.of(joined.getSharedMemoryDir()));
    ExchangeFrames.write(stream.socket,
        ExchangeRequest.newBuilder().setPull(PullRequest.newBuilder().setWorkerId(joined.getWorkerId()).setStep(0)).build());
    Thread.sleep(300); // answered; the connection's thread waits for the next request
    java.util.Map<String, Long> before = exchangeThreadSwitches();
    before.keySet().removeAll(earlier);
    assertEquals(1, before.size(), "one thread for the new connection: " + before);
    String thread = before.keySet().iterator().next();
    assertEquals(WeightsHeader.State.READY, stream.next().getWeights().getState());
    Thread.sleep(300);
    // A thread blocked in read(2) on the socket would be woken by the space the read freed, for
    // nothing: a context switch on a busy core each time a worker reads a reply.
    assertEquals(before.get(thread), exchangeThreadSwitches().get(thread),
        "the connection's thread was woken by the worker reading its reply");
  }

  @Test
  void aConnectionThatSendsWhatIsNotAFrameIsClosedAndTheOthersGoOn() throws Exception {
    ParameterServerGrpc.ParameterServerStub shared = server(true);
    JoinResponse joined = joinReady(shared, true);
    Path dir = Path.of(joined.getSharedMemoryDir());
    try (SocketChannel bad = SocketChannel.open(UnixDomainSocketAddress.of(dir.resolve(ExchangeFrames.SOCKET_NAME)))) {
      bad.write(ByteBuffer.wrap(new byte[] {0x7f, 0, 0, 0, 1, 2, 3})); // a length far beyond any frame
      ByteBuffer b = ByteBuffer.allocate(8);
      assertEquals(-1, bad.read(b), "the server closes a connection that sent a bad frame");
    }
    ExchangeReply first = new SocketExchange(dir).pull(joined.getWorkerId(), 0);
    assertEquals(WeightsHeader.State.READY, first.getWeights().getState());
  }

  @Test
  void aWorkerOffThePlaneCannotPushThroughIt() throws Exception {
    ParameterServerGrpc.ParameterServerStub shared = server(true);
    JoinResponse joined = joinReady(shared, false); // offered, but it did not map the files
    List<PullChunk> answer = pull(shared, joined.getWorkerId());
    assertFalse(answer.get(0).getHeader().getWeightsInSharedMemory());
    assertTrue(answer.size() > 1, "its weights come through the socket");
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> push(shared, header(joined.getWorkerId(), PushHeader.Encoding.SHARED_FIXED64), List.of()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("not on the shared-memory data plane"), e.getStatus().getDescription());
  }

  @Test
  void theFilesGoWhenTheServerStopsAndThoseOfAKilledServerWhenTheNextStarts() throws Exception {
    Path abandoned = Files.createDirectory(root.resolve("gradflow-2147483646-dead"));
    Files.writeString(abandoned.resolve(SharedWeights.FILE_NAME), "left by a server killed with -9");
    Path foreign = Files.createDirectory(root.resolve("gradflow-other"));
    ParameterServerGrpc.ParameterServerStub shared = server(true);
    JoinResponse joined = joinReady(shared, true);
    Path dir = Path.of(joined.getSharedMemoryDir());
    assertFalse(Files.exists(abandoned), "no process 2147483646 runs: its files are deleted");
    assertTrue(Files.exists(foreign), "a directory that is not a server's plane is left alone");
    assertTrue(Files.exists(dir.resolve(SharedWeights.FILE_NAME)));
    servers.get(0).stop();
    assertFalse(Files.exists(dir));
  }
}
