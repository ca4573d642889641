package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.cli.FaultProxy.Direction;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The test proxy forwards bytes intact both ways, cuts a connection after exactly N bytes in the
 * direction asked (once: the next connection goes through), and its latency and rate cap hold
 * traffic back at least as long as they say (lower bounds only: a slow machine cannot fail them).
 */
class FaultProxyTest {
  private ServerSocket target;
  private FaultProxy proxy;

  @AfterEach
  void close() throws IOException {
    if (proxy != null) {
      proxy.close();
    }
    if (target != null) {
      target.close();
    }
  }

  /** A target whose every connection is handled by {@code handler} on its own thread. */
  private InetSocketAddress target(Handler handler) throws IOException {
    target = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(() -> {
      while (true) {
        try {
          Socket s = target.accept();
          Thread h = new Thread(() -> {
            try (s) {
              handler.handle(s);
            } catch (IOException e) {
              // the proxy cut it
            }
          });
          h.setDaemon(true);
          h.start();
        } catch (IOException e) {
          return;
        }
      }
    });
    t.setDaemon(true);
    t.start();
    return new InetSocketAddress(InetAddress.getLoopbackAddress(), target.getLocalPort());
  }

  interface Handler {
    void handle(Socket s) throws IOException;
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Everything {@code in} gives until its end or a reset. */
  private static byte[] readAll(InputStream in) {
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    try {
      int n;
      while ((n = in.read(buf)) > 0) {
        got.write(buf, 0, n);
      }
    } catch (IOException e) {
      // reset: what came before it counts
    }
    return got.toByteArray();
  }

  private Socket dial() throws IOException {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
    s.setSoTimeout(30_000);
    return s;
  }

  @Test
  void forwardsBytesIntactBothWays() throws Exception {
    proxy = new FaultProxy(target(s -> s.getInputStream().transferTo(s.getOutputStream())));
    byte[] sent = random(3 << 20, 1);
    try (Socket s = dial()) {
      CompletableFuture<Void> writing = CompletableFuture.runAsync(() -> {
        try {
          s.getOutputStream().write(sent);
          s.shutdownOutput();
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
      });
      byte[] echoed = s.getInputStream().readAllBytes();
      writing.get(30, TimeUnit.SECONDS);
      assertArrayEquals(sent, echoed);
    }
    assertEquals(sent.length, proxy.forwarded(Direction.CLIENT_TO_SERVER));
    assertEquals(sent.length, proxy.forwarded(Direction.SERVER_TO_CLIENT));
    assertEquals(0, proxy.cuts());
  }

  @Test
  void cutsClientToServerAfterExactlyNBytesResetsTheClientAndLetsTheNextConnectionThrough() throws Exception {
    BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
    proxy = new FaultProxy(target(s -> received.add(readAll(s.getInputStream()))));
    proxy.cutAfter(Direction.CLIENT_TO_SERVER, 30_000);
    byte[] sent = random(20_000, 2);
    try (Socket s = dial()) {
      OutputStream out = s.getOutputStream();
      out.write(sent); // 20,000: below the cut
      out.flush();
      out.write(sent); // 40,000: the cut falls inside
      out.flush();
      byte[] got = received.poll(30, TimeUnit.SECONDS);
      assertEquals(30_000, got.length, "the target gets the first 30,000 bytes, then the reset");
      assertArrayEquals(sent, Arrays.copyOf(got, 20_000));
      assertArrayEquals(Arrays.copyOf(sent, 10_000), Arrays.copyOfRange(got, 20_000, 30_000));
      assertClientSeesTheCut(s);
    }
    assertEquals(1, proxy.cuts());

    byte[] whole = random(50_000, 3);
    try (Socket s = dial()) { // the cut fired once: this connection goes through
      s.getOutputStream().write(whole);
      s.shutdownOutput();
      assertEquals(-1, s.getInputStream().read(), "an orderly end, not a reset");
    }
    assertArrayEquals(whole, received.poll(30, TimeUnit.SECONDS));
    assertEquals(1, proxy.cuts());
    assertEquals(2, proxy.connections());
  }

  @Test
  void cutsServerToClientAfterExactlyNBytes() throws Exception {
    byte[] reply = random(40_000, 4);
    proxy = new FaultProxy(target(s -> {
      s.getOutputStream().write(reply);
      readAll(s.getInputStream()); // until the proxy resets it
    }));
    proxy.cutAfter(Direction.SERVER_TO_CLIENT, 25_000);
    try (Socket s = dial()) {
      byte[] got = readAll(s.getInputStream());
      assertArrayEquals(Arrays.copyOf(reply, 25_000), got);
    }
    assertEquals(1, proxy.cuts());
    assertEquals(25_000, proxy.forwarded(Direction.SERVER_TO_CLIENT));
  }

  @Test
  void theRateCapHoldsTheBytesBack() throws Exception {
    CompletableFuture<byte[]> received = new CompletableFuture<>();
    proxy = new FaultProxy(target(s -> received.complete(readAll(s.getInputStream()))));
    proxy.bytesPerSecond(200_000);
    byte[] sent = random(100_000, 5);
    long start = System.nanoTime();
    try (Socket s = dial()) {
      s.getOutputStream().write(sent);
      s.shutdownOutput();
      assertArrayEquals(sent, received.get(30, TimeUnit.SECONDS));
    }
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertTrue(millis >= 450, "100,000 bytes at 200,000 B/s take at least 0.5 s, took " + millis + " ms");
  }

  @Test
  void latencyDelaysEachDirection() throws Exception {
    proxy = new FaultProxy(target(s -> s.getInputStream().transferTo(s.getOutputStream())));
    proxy.latencyMillis(150);
    try (Socket s = dial()) {
      long start = System.nanoTime();
      s.getOutputStream().write(42);
      assertEquals(42, s.getInputStream().read());
      long millis = (System.nanoTime() - start) / 1_000_000;
      assertTrue(millis >= 290, "a round trip through 150 ms each way takes at least 300 ms, took " + millis + " ms");
    }
  }

  /** The client's socket was reset: a read ends at once (reset or end of stream), writes fail. */
  private static void assertClientSeesTheCut(Socket s) {
    boolean failed = false;
    try {
      byte[] chunk = new byte[64 * 1024];
      for (int i = 0; i < 100; i++) { // the first writes may still land in the socket's buffer
        s.getOutputStream().write(chunk);
        s.getOutputStream().flush();
        Thread.sleep(10);
      }
    } catch (IOException e) {
      failed = true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    assertTrue(failed, "writing on a cut connection fails");
  }
}
