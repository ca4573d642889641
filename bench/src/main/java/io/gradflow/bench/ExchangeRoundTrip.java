package io.gradflow.bench;

import io.gradflow.common.shm.ExchangeFrames;
import io.gradflow.proto.ExchangeReply;
import io.gradflow.proto.ExchangeRequest;
import io.gradflow.proto.ParameterServerGrpc;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.PushResponse;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A step's message round trip between two processes, side by side on the two transports a local
 * worker can use: the exchange socket (a raw Unix domain socket carrying {@link ExchangeFrames},
 * written and read by the threads that want the messages) and a gRPC bidi stream over a Unix
 * domain socket (Netty's epoll transport, handlers on the transport's threads, as the server's
 * {@code --unix-socket} listener). The server runs in a child JVM and answers each request with a
 * reply at once; the client spins for {@code --gap-us} between round trips, as a worker computes
 * between its messages, so the other side's threads have gone to sleep when a message comes.
 * Prints the median and 90th percentile of each transport over interleaved runs, and the ratio.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar io.gradflow.bench.ExchangeRoundTrip [--gap-us 2500] [--trips 2000] [--runs 3]
 * </pre>
 */
public final class ExchangeRoundTrip {
  private ExchangeRoundTrip() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 3 && args[0].equals("serve")) {
      serve(args[1], Path.of(args[2]));
      return;
    }
    long gapNanos = 2_500_000;
    int trips = 2000;
    int runs = 3;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--gap-us" -> gapNanos = Long.parseLong(args[i + 1]) * 1000;
        case "--trips" -> trips = Integer.parseInt(args[i + 1]);
        case "--runs" -> runs = Integer.parseInt(args[i + 1]);
        default -> throw new IllegalArgumentException("unknown option " + args[i] + ": expected --gap-us, --trips or --runs");
      }
    }
    List<Double> socketMedians = new ArrayList<>();
    List<Double> grpcMedians = new ArrayList<>();
    List<Double> socketP90 = new ArrayList<>();
    List<Double> grpcP90 = new ArrayList<>();
    for (int r = 0; r < runs; r++) {
      for (String transport : List.of("socket", "grpc")) {
        long[] micros = run(transport, gapNanos, trips);
        (transport.equals("socket") ? socketMedians : grpcMedians).add((double) micros[micros.length / 2]);
        (transport.equals("socket") ? socketP90 : grpcP90).add((double) micros[micros.length * 9 / 10]);
      }
    }
    double socket = median(socketMedians);
    double grpc = median(grpcMedians);
    System.out.printf("round trip with %d us between messages, medians of %d runs of %d trips:%n", gapNanos / 1000, runs, trips);
    System.out.printf("  exchange socket     median %7.1f us   p90 %7.1f us%n", socket, median(socketP90));
    System.out.printf("  gRPC stream (UDS)   median %7.1f us   p90 %7.1f us%n", grpc, median(grpcP90));
    System.out.printf("  gRPC / socket       %.2fx%n", grpc / socket);
  }

  private static double median(List<Double> values) {
    double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    return v[v.length / 2];
  }

  /** One run: a server child on {@code transport}, {@code trips} round trips; the last three quarters' times in us, sorted. */
  private static long[] run(String transport, long gapNanos, int trips) throws Exception {
    Path dir = Files.createTempDirectory("gradflow-roundtrip");
    Path path = dir.resolve("s.sock");
    String java = ProcessHandle.current().info().command().orElse("java");
    Process server = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
        ExchangeRoundTrip.class.getName(), "serve", transport, path.toString())
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    try {
      for (int i = 0; i < 200 && !Files.exists(path); i++) {
        Thread.sleep(50);
      }
      long[] nanos = transport.equals("socket") ? socketClient(path, gapNanos, trips) : grpcClient(path, gapNanos, trips);
      long[] kept = Arrays.copyOfRange(nanos, trips / 4, trips);
      for (int i = 0; i < kept.length; i++) {
        kept[i] /= 1000;
      }
      Arrays.sort(kept);
      return kept;
    } finally {
      server.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      Files.deleteIfExists(path);
      Files.deleteIfExists(dir);
    }
  }

  private static ExchangeRequest request(int i) {
    return ExchangeRequest.newBuilder().setPush(PushHeader.newBuilder().setStep(i).setShardFirst(0).setShardEnd(4)
        .addShardLoss(1).addShardLoss(2).addShardLoss(3).addShardLoss(4)).build();
  }

  private static final ExchangeReply REPLY = ExchangeReply.newBuilder().setPushed(PushResponse.getDefaultInstance()).build();

  /** Busy for {@code nanos}, as a worker computing. */
  private static void compute(long nanos) {
    long end = System.nanoTime() + nanos;
    double x = 0;
    while (System.nanoTime() < end) {
      x += Math.sqrt(x + 1);
    }
    if (x == -1) {
      System.out.println(x);
    }
  }

  /** As {@code ExchangeStream} on the socket: write the frame, then select and read until the reply is whole. */
  private static long[] socketClient(Path path, long gapNanos, int trips) throws IOException {
    try (SocketChannel socket = SocketChannel.open(UnixDomainSocketAddress.of(path)); Selector selector = Selector.open()) {
      socket.configureBlocking(false);
      socket.register(selector, SelectionKey.OP_READ);
      ExchangeFrames.Reader<ExchangeReply> replies = new ExchangeFrames.Reader<>(ExchangeReply.parser());
      long[] nanos = new long[trips];
      for (int i = 0; i < trips; i++) {
        compute(gapNanos);
        long start = System.nanoTime();
        ExchangeFrames.write(socket, request(i));
        while (replies.next() == null) {
          if (replies.fill(socket) == 0) {
            selector.select(1000);
            selector.selectedKeys().clear();
          }
        }
        nanos[i] = System.nanoTime() - start;
      }
      return nanos;
    }
  }

  /** As a worker on the gRPC Exchange call: onNext, then wait for the transport's thread to complete a future. */
  private static long[] grpcClient(Path path, long gapNanos, int trips) throws Exception {
    EpollEventLoopGroup group = new EpollEventLoopGroup(1, new DefaultThreadFactory("roundtrip-client", true));
    ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(path.toString()))
        .channelType(EpollDomainSocketChannel.class).eventLoopGroup(group).usePlaintext()
        .withOption(ChannelOption.SO_KEEPALIVE, null) // gRPC sets it; a Unix socket has none (Netty would warn)
        .directExecutor().build();
    try {
      @SuppressWarnings("unchecked")
      CompletableFuture<ExchangeReply>[] waiting = new CompletableFuture[1];
      StreamObserver<ExchangeRequest> requests = ParameterServerGrpc.newStub(channel).exchange(new StreamObserver<>() {
        @Override
        public void onNext(ExchangeReply reply) {
          waiting[0].complete(reply);
        }

        @Override
        public void onError(Throwable t) {
          waiting[0].completeExceptionally(t);
        }

        @Override
        public void onCompleted() {}
      });
      long[] nanos = new long[trips];
      for (int i = 0; i < trips; i++) {
        compute(gapNanos);
        long start = System.nanoTime();
        CompletableFuture<ExchangeReply> reply = new CompletableFuture<>();
        waiting[0] = reply;
        requests.onNext(request(i));
        reply.get(10, TimeUnit.SECONDS);
        nanos[i] = System.nanoTime() - start;
      }
      requests.onCompleted();
      return nanos;
    } finally {
      channel.shutdownNow();
      group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
    }
  }

  /** The child: answers every request at once, on the reading thread (socket) or the transport's (gRPC). */
  private static void serve(String transport, Path path) throws Exception {
    if (transport.equals("socket")) {
      try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
        listener.bind(UnixDomainSocketAddress.of(path));
        try (SocketChannel c = listener.accept()) {
          ExchangeFrames.Reader<ExchangeRequest> requests = new ExchangeFrames.Reader<>(ExchangeRequest.parser());
          while (true) {
            if (requests.next() == null) {
              requests.fill(c);
              continue;
            }
            ExchangeFrames.write(c, REPLY);
          }
        } catch (IOException end) {
          return;
        }
      }
    }
    EpollEventLoopGroup boss = new EpollEventLoopGroup(1, new DefaultThreadFactory("roundtrip-boss", true));
    EpollEventLoopGroup workers = new EpollEventLoopGroup(2, new DefaultThreadFactory("roundtrip-server", true));
    Server server = NettyServerBuilder.forAddress(new DomainSocketAddress(path.toString()))
        .channelType(EpollServerDomainSocketChannel.class).bossEventLoopGroup(boss).workerEventLoopGroup(workers)
        .withChildOption(ChannelOption.SO_KEEPALIVE, null)
        .directExecutor()
        .addService(new ParameterServerGrpc.ParameterServerImplBase() {
          @Override
          public StreamObserver<ExchangeRequest> exchange(StreamObserver<ExchangeReply> out) {
            return new StreamObserver<>() {
              @Override
              public void onNext(ExchangeRequest request) {
                out.onNext(REPLY);
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {
                out.onCompleted();
              }
            };
          }
        })
        .build().start();
    server.awaitTermination();
  }
}
