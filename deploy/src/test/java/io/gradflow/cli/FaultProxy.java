package io.gradflow.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy for tests, with faults: it listens on a free loopback port and forwards every
 * connection to a target, and can delay what it forwards ({@link #latencyMillis}), cap each
 * direction's rate ({@link #bytesPerSecond}) and cut a connection once after a given number of
 * bytes in one direction ({@link #cutAfter}).
 *
 * <p>Each direction of a connection is a delay line of two threads: a reader stamps each chunk
 * with its arrival time and queues it; a writer forwards it {@code latency} after that time, no
 * faster than the rate allows. A cut counts the bytes of its direction over every connection,
 * forwards exactly the first {@code n}, then resets both sockets of that connection (SO_LINGER 0:
 * an RST to each side, no orderly FIN); it fires once, so the peer's reconnection goes through.
 */
final class FaultProxy implements AutoCloseable {
  /** A direction through the proxy: from the connecting client to the target, or back. */
  enum Direction {
    CLIENT_TO_SERVER,
    SERVER_TO_CLIENT
  }

  private static final int CHUNK = 16 * 1024;

  private final InetSocketAddress target;
  private final ServerSocket listener;
  private final List<Socket> sockets = new ArrayList<>();
  private final AtomicLong[] forwarded = {new AtomicLong(), new AtomicLong()};
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicInteger cuts = new AtomicInteger();
  private volatile long latencyNanos;
  private volatile long bytesPerSecond;
  private Direction cutDirection;
  private long cutAt = -1;
  private volatile boolean closed;

  /** Starts listening on a free port of 127.0.0.1 and forwarding to {@code target}. */
  FaultProxy(InetSocketAddress target) throws IOException {
    this.target = target;
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread accept = new Thread(this::acceptLoop, "fault-proxy-accept-" + listener.getLocalPort());
    accept.setDaemon(true);
    accept.start();
  }

  /** The port the proxy listens on (127.0.0.1). */
  int port() {
    return listener.getLocalPort();
  }

  /** "127.0.0.1:PORT", what a client dials. */
  String address() {
    return "127.0.0.1:" + port();
  }

  /** Delays every chunk by {@code millis} in each direction (so a round trip by twice that). */
  FaultProxy latencyMillis(long millis) {
    latencyNanos = millis * 1_000_000L;
    return this;
  }

  /** Forwards at most {@code rate} bytes per second in each direction of each connection (0: no cap). */
  FaultProxy bytesPerSecond(long rate) {
    bytesPerSecond = rate;
    return this;
  }

  /**
   * Once {@code bytes} bytes went in {@code direction} (counted from now, over all connections),
   * cuts the connection that carries them: the first {@code bytes} arrive, nothing after, and both
   * of its sockets are reset. Fires once.
   */
  synchronized FaultProxy cutAfter(Direction direction, long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("cutAfter: expected 0 or more bytes, got " + bytes);
    }
    cutDirection = direction;
    cutAt = forwarded[direction.ordinal()].get() + bytes;
    return this;
  }

  /** Bytes forwarded so far in {@code direction}, over all connections. */
  long forwarded(Direction direction) {
    return forwarded[direction.ordinal()].get();
  }

  /** Connections accepted so far. */
  int connections() {
    return connections.get();
  }

  /** Connections cut so far (0 or 1). */
  int cuts() {
    return cuts.get();
  }

  @Override
  public void close() throws IOException {
    closed = true;
    listener.close();
    synchronized (sockets) {
      for (Socket s : sockets) {
        s.close();
      }
    }
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = listener.accept();
      } catch (IOException e) {
        return; // closed
      }
      connections.incrementAndGet();
      try {
        Socket server = new Socket();
        server.connect(target, 10_000);
        server.setTcpNoDelay(true);
        client.setTcpNoDelay(true);
        synchronized (sockets) {
          sockets.add(client);
          sockets.add(server);
        }
        Connection c = new Connection(client, server);
        c.start(Direction.CLIENT_TO_SERVER, client.getInputStream(), server.getOutputStream());
        c.start(Direction.SERVER_TO_CLIENT, server.getInputStream(), client.getOutputStream());
      } catch (IOException e) {
        reset(client);
      }
    }
  }

  /**
   * How many of {@code n} bytes about to go in {@code d} may still go before the cut; -1: no cut
   * among them. Counts the bytes that go.
   */
  private synchronized long take(Direction d, long n) {
    AtomicLong count = forwarded[d.ordinal()];
    if (cutAt >= 0 && d == cutDirection && count.get() + n >= cutAt) {
      long allowed = cutAt - count.get();
      count.addAndGet(allowed);
      cutAt = -1;
      cuts.incrementAndGet();
      return allowed;
    }
    count.addAndGet(n);
    return -1;
  }

  private static void reset(Socket s) {
    try {
      s.setSoLinger(true, 0);
    } catch (IOException e) {
      // already closed
    }
    try {
      s.close();
    } catch (IOException e) {
      // already closed
    }
  }

  /** A chunk read at {@code arrivedAt}; an empty one marks the end of the stream. */
  private record Chunk(byte[] bytes, long arrivedAt) {}

  /** One proxied connection: a client socket, the socket to the target, two delay lines. */
  private final class Connection {
    private final Socket client;
    private final Socket server;
    private final AtomicInteger open = new AtomicInteger(2);

    Connection(Socket client, Socket server) {
      this.client = client;
      this.server = server;
    }

    void start(Direction d, InputStream in, OutputStream out) {
      BlockingQueue<Chunk> line = new LinkedBlockingQueue<>();
      Thread reader = new Thread(() -> read(in, line), "fault-proxy-" + d + "-read");
      Thread writer = new Thread(() -> write(d, line, out), "fault-proxy-" + d + "-write");
      reader.setDaemon(true);
      writer.setDaemon(true);
      reader.start();
      writer.start();
    }

    private void read(InputStream in, BlockingQueue<Chunk> line) {
      byte[] buf = new byte[CHUNK];
      try {
        int n;
        while ((n = in.read(buf)) > 0) {
          line.add(new Chunk(Arrays.copyOf(buf, n), System.nanoTime()));
        }
      } catch (IOException e) {
        // the socket was reset or closed: end this direction
      }
      line.add(new Chunk(new byte[0], System.nanoTime()));
    }

    private void write(Direction d, BlockingQueue<Chunk> line, OutputStream out) {
      long started = System.nanoTime();
      long sent = 0;
      try {
        while (true) {
          Chunk c = line.take();
          if (c.bytes().length == 0) {
            break;
          }
          sleepUntil(c.arrivedAt() + latencyNanos);
          byte[] b = c.bytes();
          for (int off = 0; off < b.length; ) {
            long rate = bytesPerSecond;
            int n = rate > 0 ? (int) Math.min(b.length - off, Math.max(1, rate / 20)) : b.length - off;
            if (rate > 0) {
              sleepUntil(started + (long) ((sent + n) * 1e9 / rate));
            }
            long allowed = take(d, n);
            if (allowed >= 0) {
              out.write(b, off, (int) allowed);
              out.flush();
              cut();
              return;
            }
            out.write(b, off, n);
            out.flush();
            off += n;
            sent += n;
          }
        }
        // the sender closed its side in order: pass the FIN on, and close once both sides ended
        if (d == Direction.CLIENT_TO_SERVER) {
          server.shutdownOutput();
        } else {
          client.shutdownOutput();
        }
        if (open.decrementAndGet() == 0) {
          client.close();
          server.close();
        }
      } catch (IOException e) {
        cut(); // one side is gone: the other must see it
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        cut();
      }
    }

    private void cut() {
      reset(client);
      reset(server);
    }
  }

  private static void sleepUntil(long nanoTime) throws InterruptedException {
    long wait;
    while ((wait = nanoTime - System.nanoTime()) > 0) {
      Thread.sleep(wait / 1_000_000L, (int) (wait % 1_000_000L));
    }
  }
}
