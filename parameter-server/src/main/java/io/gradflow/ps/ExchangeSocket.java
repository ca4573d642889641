package io.gradflow.ps;

import io.gradflow.common.shm.ExchangeFrames;
import io.gradflow.proto.ExchangeReply;
import io.gradflow.proto.ExchangeRequest;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The exchange socket: a Unix domain socket in the shared-memory plane's private directory that
 * carries the pulls and pushes of the workers on this host as {@link ExchangeFrames}, the messages
 * of the gRPC {@code Exchange} call, handled by the same {@link ExchangeSession}. Each connection
 * has a thread of its own that blocks reading it and handles each request itself (a push is read
 * from the push file, reduced and committed on it), so a request wakes one thread, not a
 * transport's event loop that then hands it on. Reaching the socket takes the same access as the
 * plane's files (its directory is this user's alone).
 */
final class ExchangeSocket implements AutoCloseable {
  private final ServerSocketChannel listener;
  private final StepCoordinator coordinator;
  private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  private ExchangeSocket(ServerSocketChannel listener, StepCoordinator coordinator) {
    this.listener = listener;
    this.coordinator = coordinator;
  }

  /** Listens on {@code dir/exchange.sock}; null (said on {@code log}) when the socket cannot be made. */
  static ExchangeSocket open(Path dir, StepCoordinator coordinator, Consumer<String> log) {
    Path path = dir.resolve(ExchangeFrames.SOCKET_NAME);
    try {
      Files.deleteIfExists(path);
      ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      listener.bind(UnixDomainSocketAddress.of(path));
      ExchangeSocket socket = new ExchangeSocket(listener, coordinator);
      Thread acceptor = new Thread(socket::accept, "gradflow-exchange-accept");
      acceptor.setDaemon(true);
      acceptor.start();
      return socket;
    } catch (IOException | UnsupportedOperationException e) {
      log.accept("exchange socket: cannot listen on " + path + " (" + e.getMessage() + "); local workers use the Exchange call");
      return null;
    }
  }

  private void accept() {
    int n = 0;
    while (!closed) {
      SocketChannel c;
      try {
        c = listener.accept();
      } catch (IOException e) {
        return; // closed
      }
      connections.add(c);
      Thread t = new Thread(() -> serve(c), "gradflow-exchange-" + n++);
      t.setDaemon(true);
      t.start();
    }
  }

  /** Reads and handles the requests of one connection until it ends. */
  private void serve(SocketChannel c) {
    Replies replies = new Replies(c);
    ExchangeSession session = new ExchangeSession(coordinator, replies);
    ExchangeFrames.Reader<ExchangeRequest> reader = new ExchangeFrames.Reader<>(ExchangeRequest.parser());
    try {
      while (true) {
        ExchangeRequest request = reader.next();
        if (request == null) {
          reader.fill(c);
          continue;
        }
        session.onNext(request);
      }
    } catch (IOException e) {
      // the worker went away, or sent what is not a frame: its session ends
    } finally {
      session.cancelled();
      replies.onCompleted();
      connections.remove(c);
    }
  }

  /** The replies of one connection, written by whichever thread answers (the session serialises them). */
  private static final class Replies implements StreamObserver<ExchangeReply> {
    private final SocketChannel channel;

    Replies(SocketChannel channel) {
      this.channel = channel;
    }

    @Override
    public void onNext(ExchangeReply reply) {
      try {
        ExchangeFrames.write(channel, reply);
      } catch (IOException e) {
        onCompleted(); // the reader sees the end and cancels the session
      }
    }

    @Override
    public void onError(Throwable t) {
      onCompleted();
    }

    @Override
    public void onCompleted() {
      try {
        channel.close();
      } catch (IOException e) {
        // closed already
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      listener.close();
    } catch (IOException e) {
      // closed already
    }
    for (SocketChannel c : connections) {
      try {
        c.close();
      } catch (IOException e) {
        // closed already
      }
    }
  }
}
