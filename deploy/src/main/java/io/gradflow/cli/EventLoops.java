package io.gradflow.cli;

import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.ServerChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * The Netty event-loop threads of one command's gRPC listeners and channels, which it shuts down
 * when they are closed ({@link #close}), so that none is left when the JVM exits.
 *
 * <p>Why it matters: HotSpot's exit ({@code System.exit} or the end of {@code main}) waits for the
 * threads that are in native code to block, polling every 10 ms up to 30 times; an event loop
 * parked in {@code epoll_wait} never does, so every process with one took about 0.3 s longer to
 * exit than its work (a job's server, each worker, a follower). gRPC's own shared groups cannot be
 * shut down by their users and outlive their last server or channel by a second, so every
 * listener and channel of the commands runs on groups made here instead: epoll where Netty has it
 * (Linux), NIO elsewhere; a TCP listener with gRPC's thread counts (one acceptor, Netty's default
 * of twice the cores for the connections), a channel with the one thread its connection uses.
 */
final class EventLoops implements AutoCloseable {
  /** How long {@link #close} waits for a group's threads to end. */
  private static final long CLOSE_WAIT_MILLIS = 5_000;

  private final List<EventLoopGroup> groups = new ArrayList<>();

  /** Every thread the groups started (they start them lazily, on their own threads). */
  private final Queue<Thread> started = new ConcurrentLinkedQueue<>();

  /**
   * A new group of {@code threads} daemon threads named {@code name-N-M} ({@code threads} 0:
   * Netty's default, twice the cores, as gRPC's own groups), shut down by {@link #close}.
   */
  synchronized EventLoopGroup group(String name, int threads) {
    DefaultThreadFactory named = new DefaultThreadFactory(name, true);
    ThreadFactory factory = r -> {
      Thread t = named.newThread(r);
      started.add(t);
      return t;
    };
    EventLoopGroup group = Epoll.isAvailable()
        ? new EpollEventLoopGroup(threads, factory)
        : new NioEventLoopGroup(threads, factory);
    groups.add(group);
    return group;
  }

  /** The TCP listener's channel type for the groups made here. */
  static Class<? extends ServerChannel> tcpServerChannel() {
    return Epoll.isAvailable() ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }

  /** The TCP client's channel type for the groups made here. */
  static Class<? extends Channel> tcpChannel() {
    return Epoll.isAvailable() ? EpollSocketChannel.class : NioSocketChannel.class;
  }

  /**
   * Shuts every group down at once (no quiet period: the servers and channels on them are closed
   * already) and waits for their threads to end: a group's termination is signalled from its
   * threads just before they return, so the threads themselves are joined.
   */
  @Override
  public synchronized void close() {
    for (EventLoopGroup g : groups) {
      g.shutdownGracefully(0, CLOSE_WAIT_MILLIS, TimeUnit.MILLISECONDS);
    }
    for (EventLoopGroup g : groups) {
      g.terminationFuture().awaitUninterruptibly(CLOSE_WAIT_MILLIS);
    }
    groups.clear();
    boolean interrupted = false;
    for (Thread t; (t = started.poll()) != null; ) {
      try {
        t.join(CLOSE_WAIT_MILLIS);
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
