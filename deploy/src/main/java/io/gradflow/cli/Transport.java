package io.gradflow.cli;

import io.grpc.ChannelCredentials;
import io.grpc.ServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.InsecureServerCredentials;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;

/** The gRPC transport of the server and the worker: the same message limit, windows and buffers on both ends. */
final class Transport {
  /** gRPC's default; the push and weight streams are chunked far below it. */
  static final int MAX_MESSAGE_BYTES = 4 << 20;

  /**
   * HTTP/2 flow-control window of every connection: a step moves a whole model each way, so a
   * window of several models' bytes keeps the sender from stalling on window updates.
   */
  static final int WINDOW_BYTES = 32 << 20;

  /**
   * Kernel socket buffers of every connection: large enough for a whole model, so a push or the
   * weights go out in one write instead of trickling through a 16 KiB buffer that needs the peer
   * to be scheduled between rounds (the kernel caps it at net.core.wmem_max / rmem_max).
   */
  static final int SOCKET_BUFFER_BYTES = 4 << 20;

  private Transport() {}

  /** The parameter server's listener on {@code bind:port}, its threads made by {@code loops}. */
  static NettyServerBuilder server(String bind, int port, ServerCredentials credentials, EventLoops loops) {
    return NettyServerBuilder.forAddress(new InetSocketAddress(bind, port), credentials)
        .channelType(EventLoops.tcpServerChannel())
        .bossEventLoopGroup(loops.group("gradflow-tcp-boss", 1))
        .workerEventLoopGroup(loops.group("gradflow-tcp", 0))
        .maxInboundMessageSize(MAX_MESSAGE_BYTES)
        .flowControlWindow(WINDOW_BYTES)
        .withChildOption(ChannelOption.SO_SNDBUF, SOCKET_BUFFER_BYTES)
        .withChildOption(ChannelOption.SO_RCVBUF, SOCKET_BUFFER_BYTES)
        // Handlers never block (a pull waits without a thread), so they run on the transport's
        // threads: no hand-off to an executor per message on the step's critical path.
        .directExecutor();
  }

  /** Whether this JVM can serve and dial Unix domain sockets (Netty's epoll transport: Linux). */
  static boolean unixSocketsAvailable() {
    return Epoll.isAvailable();
  }

  /**
   * The parameter server's listener on the Unix domain socket {@code path}, for the workers on its
   * host: the same limits as {@link #server}; no TLS (the socket file's permissions guard it).
   */
  static NettyServerBuilder unixServer(Path path, EventLoops loops) {
    return NettyServerBuilder.forAddress(new DomainSocketAddress(path.toString()), InsecureServerCredentials.create())
        .channelType(EpollServerDomainSocketChannel.class)
        .bossEventLoopGroup(loops.group("gradflow-uds-boss", 1))
        .workerEventLoopGroup(loops.group("gradflow-uds", 2))
        .withChildOption(ChannelOption.SO_KEEPALIVE, null) // gRPC sets it; a Unix socket has none: Netty warned per connection
        .maxInboundMessageSize(MAX_MESSAGE_BYTES)
        .flowControlWindow(WINDOW_BYTES)
        .directExecutor();
  }

  /** A worker's channel to the server's Unix domain socket {@code path}, its thread made by {@code loops}. */
  static NettyChannelBuilder unixChannel(Path path, ChannelCredentials credentials, EventLoops loops) {
    return NettyChannelBuilder.forAddress(new DomainSocketAddress(path.toString()), credentials)
        .channelType(EpollDomainSocketChannel.class)
        .eventLoopGroup(loops.group("gradflow-uds", 1))
        .withOption(ChannelOption.SO_KEEPALIVE, null) // as in unixServer
        .maxInboundMessageSize(MAX_MESSAGE_BYTES)
        .flowControlWindow(WINDOW_BYTES)
        .directExecutor();
  }

  /** A worker's channel to the server at {@code target}, its threads made by {@code loops}. */
  static NettyChannelBuilder channel(HostPort target, ChannelCredentials credentials, EventLoops loops) {
    return NettyChannelBuilder.forAddress(target.host(), target.port(), credentials)
        .channelType(EventLoops.tcpChannel())
        .eventLoopGroup(loops.group("gradflow-tcp", 1))
        .maxInboundMessageSize(MAX_MESSAGE_BYTES)
        .flowControlWindow(WINDOW_BYTES)
        .withOption(ChannelOption.SO_SNDBUF, SOCKET_BUFFER_BYTES)
        .withOption(ChannelOption.SO_RCVBUF, SOCKET_BUFFER_BYTES)
        // The worker's callbacks only decode and complete futures: run them on the transport's
        // thread instead of handing each message to an executor.
        .directExecutor();
  }
}
