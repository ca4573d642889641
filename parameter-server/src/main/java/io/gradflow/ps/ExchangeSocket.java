package io.gradflow.ps;

import io.gradflow.common.shm.ExchangeFrames;
import io.gradflow.proto.ExchangeReply;
import io.gradflow.proto.ExchangeRequest;
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
import java.util.List;
import java.util.Map;
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
  /** The open connections, each with the selector its thread waits in. */
  private final Map<SocketChannel, Selector> connections = new ConcurrentHashMap<>();
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
      Selector readable;
      try {
        readable = Selector.open();
      } catch (IOException e) {
        closeQuietly(c);
        continue;
      }
      connections.put(c, readable);
      Thread t = new Thread(() -> serve(c, readable), "gradflow-exchange-" + n++);
      t.setDaemon(true);
      t.start();
    }
  }

  /** Reads and handles the requests of one connection until it ends. */
  private void serve(SocketChannel c, Selector readable) {
    Replies replies = new Replies(c, readable, Thread.currentThread());
    ExchangeSession session = new ExchangeSession(coordinator, replies);
    ExchangeFrames.Reader<ExchangeRequest> reader = new ExchangeFrames.Reader<>(ExchangeRequest.parser());
    try (readable) {
      // Wait in epoll for input only: a thread blocked in read(2) on a Unix socket is also woken
      // each time the worker reads a reply (the kernel's "write space" wake-up goes to every
      // waiter on the socket), a wake-up for nothing that takes a busy core twice per step.
      c.configureBlocking(false);
      c.register(readable, SelectionKey.OP_READ);
      while (true) {
        ExchangeRequest request = reader.next();
        if (request == null) {
          // The replies to what one read brought (a push's acknowledgement and the answer of the
          // pull sent with it) go out together, waking the worker once, before this thread waits.
          replies.release();
          while (reader.fill(c) == 0) {
            readable.select();
            readable.selectedKeys().clear();
          }
          replies.hold();
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

  /**
   * The replies of one connection, written by whichever thread answers (the session serialises
   * them). While {@link #hold} is in force, the replies of the connection's own thread wait for
   * {@link #release} and leave in one write; a reply from another thread (a pull answered when
   * another worker's push closed the step) goes at once, after any held before it.
   */
  private static final class Replies implements StreamObserver<ExchangeReply> {
    private final SocketChannel channel;
    private final Selector readable;
    private final Thread owner;
    private final List<ExchangeReply> held = new ArrayList<>(2);
    private boolean holding;

    Replies(SocketChannel channel, Selector readable, Thread owner) {
      this.channel = channel;
      this.readable = readable;
      this.owner = owner;
    }

    synchronized void hold() {
      holding = true;
    }

    synchronized void release() {
      holding = false;
      writeHeld();
    }

    @Override
    public synchronized void onNext(ExchangeReply reply) {
      held.add(reply);
      if (!holding || Thread.currentThread() != owner) {
        writeHeld();
      }
    }

    private void writeHeld() {
      if (held.isEmpty()) {
        return;
      }
      try {
        ExchangeFrames.write(channel, held);
      } catch (IOException e) {
        onCompleted(); // the reader sees the end and cancels the session
      } finally {
        held.clear();
      }
    }

    @Override
    public void onError(Throwable t) {
      onCompleted();
    }

    /** Closes the connection; its thread, waiting for input, sees the end. */
    @Override
    public void onCompleted() {
      closeQuietly(channel);
      readable.wakeup();
    }
  }

  private static void closeQuietly(SocketChannel c) {
    try {
      c.close();
    } catch (IOException e) {
      // closed already
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
    connections.forEach((c, readable) -> {
      closeQuietly(c);
      readable.wakeup();
    });
  }
}
