package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.cli.FaultProxy.Direction;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker's TCP connection cut in the middle of a transfer: a server and two worker JVMs on TCP
 * (no Unix socket, no shared memory, so every tensor byte crosses the socket), one worker dialing
 * through a {@link FaultProxy} that resets its connection once after N bytes, in the middle of a
 * push (bytes to the server) or of the weights coming back (bytes to the worker). The cut costs
 * that worker a retry on a new connection; no micro-shard is lost or counted twice, so the job ends
 * on the single process's weights.
 *
 * <p>The model is wide enough (2-128-128-3, 17,283 parameters: a push of about 87 kB, weights of
 * 69 kB a step) that the pushes and the weights are nearly all of the bytes each way, so a cut a
 * fifth of the way into the job's traffic falls inside one of them; the worker's log names the call
 * that broke. (Bytes to the worker are almost all weights too; but the push of the worker that
 * closes a step is acknowledged after the weights went out, so there the log cannot tell a cut
 * weights transfer from a cut acknowledgement.)
 */
class ProxyCutIT {
  private static final int STEPS = 40;
  /** About a fifth of what the proxied worker sends (3.5 MB) and a quarter of what it receives (2.8 MB) in the job. */
  private static final long CUT_AFTER_BYTES = 700_000;

  @TempDir static Path shared;
  @TempDir Path tmp;
  private static String undisturbed;

  private static List<String> job() {
    return new ArrayList<>(List.of(
        "--dataset", "spirals", "--model", "2-128-128-3", "--activation", "tanh", "--batch", "60",
        "--micro-shards", "6", "--max-steps", Integer.toString(STEPS), "--lr", "0.05", "--seed", "5"));
  }

  @BeforeAll
  static void undisturbedRun() {
    Path out = shared.resolve("undisturbed");
    List<String> args = new ArrayList<>(List.of("train", "--workers", "0", "--out", out.toString()));
    args.addAll(job());
    Jobs.Run r = Jobs.run(args);
    assertEquals(0, r.exitCode(), r.err());
    undisturbed = Jobs.summary(out).weightsSha256();
  }

  @Test
  void aConnectionCutMidPushCostsARetryAndLosesNothing() throws Exception {
    String log = runWithACut(Direction.CLIENT_TO_SERVER);
    assertEquals("push", firstBrokenCall(log), "the cut broke the push in flight:\n" + log);
  }

  @Test
  void aConnectionCutMidWeightsTransferCostsARetryAndLosesNothing() throws Exception {
    String log = runWithACut(Direction.SERVER_TO_CLIENT);
    // The last push of a step may be acknowledged after the step's weights went out, so the push
    // can be the first call to see the cut; the pull always sees it.
    assertTrue(log.contains("parameter server unreachable (pull:"), "the cut broke the weights in flight:\n" + log);
  }

  /**
   * The call the worker saw fail first ("push", "pull", ...): its log says "parameter server
   * unreachable (CALL: ...)". With staleness 0 a worker waits for its push's acknowledgement before
   * it waits for the weights, so a cut while a push travels fails the push first (a cut while it
   * waits for the weights, with its push acknowledged, would fail the pull first).
   */
  private static String firstBrokenCall(String workerLog) {
    String marker = "parameter server unreachable (";
    return workerLog.lines().filter(l -> l.contains(marker)).findFirst()
        .map(l -> l.substring(l.indexOf(marker) + marker.length(), l.indexOf(':', l.indexOf(marker) + marker.length())))
        .orElse("none");
  }

  /**
   * Runs the job with worker-0 behind a proxy that cuts its connection once after {@link
   * #CUT_AFTER_BYTES} bytes in {@code direction}; checks the job's end. Returns worker-0's log.
   */
  private String runWithACut(Direction direction) throws Exception {
    Path out = tmp.resolve("out");
    Path portFile = tmp.resolve("server.port");
    Path serverLog = tmp.resolve("server.log");
    List<String> serverArgs = new ArrayList<>(List.of("server", "--port", "0", "--bind", "127.0.0.1",
        "--port-file", portFile.toString(), "--workers", "2", "--out", out.toString(), "--no-shared-memory",
        "--worker-timeout", "3", "--checkpoint-every", "10", "--linger-seconds", "0"));
    serverArgs.addAll(job());
    List<Process> children = new ArrayList<>();
    Process server = Jobs.startChild(serverArgs, serverLog);
    children.add(server);
    try {
      Jobs.awaitText(portFile, "", 60);
      int port = Integer.parseInt(Files.readString(portFile).trim());
      try (FaultProxy proxy = new FaultProxy(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
        proxy.cutAfter(direction, CUT_AFTER_BYTES);
        Path cutLog = tmp.resolve("worker-0.log");
        Path directLog = tmp.resolve("worker-1.log");
        Process cut = Jobs.startChild(List.of("worker", "--server", proxy.address(), "--name", "worker-0",
            "--warmup-passes", "0"), cutLog);
        children.add(cut);
        Process direct = Jobs.startChild(List.of("worker", "--server", "127.0.0.1:" + port, "--name", "worker-1",
            "--warmup-passes", "0"), directLog);
        children.add(direct);
        String logs = "";
        for (Process p : children) {
          boolean ended = p.waitFor(120, TimeUnit.SECONDS);
          logs = "\n--- server ---\n" + Files.readString(serverLog) + "\n--- worker-0 (through the proxy) ---\n"
              + Files.readString(cutLog) + "\n--- worker-1 ---\n" + Files.readString(directLog)
              + "\nproxy: " + proxy.connections() + " connection(s), " + proxy.cuts() + " cut(s), "
              + proxy.forwarded(Direction.CLIENT_TO_SERVER) + " bytes to the server, "
              + proxy.forwarded(Direction.SERVER_TO_CLIENT) + " bytes back";
          assertTrue(ended, "the job did not end in 2 minutes" + logs);
          assertEquals(0, p.exitValue(), logs);
        }
        assertEquals(1, proxy.cuts(), "the cut fell inside the job" + logs);
        assertTrue(proxy.connections() >= 2, "worker-0 came back on a new connection" + logs);
        assertTrue(proxy.forwarded(direction) > CUT_AFTER_BYTES, "and worked on after the cut" + logs);
        assertEquals(STEPS, Jobs.summary(out).steps(), logs);
        assertEquals(undisturbed, Jobs.summary(out).weightsSha256(), "same weights as one process" + logs);
        return Files.readString(cutLog);
      }
    } finally {
      for (Process p : children) {
        p.destroyForcibly();
      }
    }
  }
}
