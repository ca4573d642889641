package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real JVMs on localhost: the launcher, a parameter server and its workers. Synchronous training
 * gives the same weights, to the bit, for 0 (single process), 1 and 3 workers and with pushes
 * delayed at random; refused and unreachable workers end with one line and their exit code.
 */
class DistributedTrainingIT {
  @TempDir Path tmp;

  private String train(String name, int workers, String... extra) throws Exception {
    Path out = tmp.resolve(name);
    List<String> args = new ArrayList<>(List.of("train", "--workers", Integer.toString(workers), "--out", out.toString()));
    args.addAll(Jobs.spiralsJob(40));
    args.addAll(List.of("--warmup-passes", "0")); // a tiny model: nothing to gain, JVM time to lose
    args.addAll(List.of(extra));
    Jobs.Run r = Jobs.run(args);
    assertEquals(0, r.exitCode(), r.err() + r.out());
    assertEquals(workers, Jobs.summary(out).workers());
    assertEquals(40, Jobs.summary(out).steps());
    if (workers > 0) {
      for (int i = 0; i < workers; i++) {
        assertTrue(Files.exists(out.resolve("logs/worker-" + i + ".log")));
      }
    }
    return Jobs.summary(out).weightsSha256();
  }

  @Test
  void threeWorkersOneWorkerAndOneProcessGiveTheSameWeights() throws Exception {
    String single = train("single", 0);
    assertEquals(single, train("one", 1));
    assertEquals(single, train("three", 3));
    assertNotEquals(single, train("other-seed", 0, "--seed", "4"), "the hash must depend on the training");
  }

  /**
   * Every local transport gives the same weights: loopback TCP with the weights and pushes in
   * gRPC messages, the Unix domain socket, and the Unix domain socket with the shared-memory data
   * plane (the default), as the single process does. The logs show which one each run used, and
   * no Netty warning about socket options a Unix socket lacks.
   */
  @Test
  void tcpTheUnixSocketAndSharedMemoryGiveTheSameWeights() throws Exception {
    String tcp = train("tcp", 2, "--no-shared-memory", "--no-unix-socket");
    assertFalse(serverLog("tcp").contains(" and unix:"), serverLog("tcp"));
    assertFalse(workerLogs("tcp").contains("through shared memory"), workerLogs("tcp"));

    assertEquals(tcp, train("unix", 2, "--no-shared-memory"));
    assertTrue(serverLog("unix").contains(" and unix:"), serverLog("unix"));
    assertFalse(workerLogs("unix").contains("through shared memory"), workerLogs("unix"));
    // gRPC asks every connection for SO_KEEPALIVE, which a Unix socket lacks: Transport drops it.
    assertFalse((serverLog("unix") + workerLogs("unix")).contains("Unknown channel option"), serverLog("unix") + workerLogs("unix"));

    assertEquals(tcp, train("shared", 2));
    assertTrue(serverLog("shared").contains(" and unix:"), serverLog("shared"));
    assertEquals(2, workerLogs("shared").split("weights and pushes go through shared memory", -1).length - 1, workerLogs("shared"));

    assertEquals(tcp, train("single-process", 0));
  }

  private String serverLog(String run) throws Exception {
    return Files.readString(tmp.resolve(run + "/logs/server.log"));
  }

  private String workerLogs(String run) throws Exception {
    return Files.readString(tmp.resolve(run + "/logs/worker-0.log")) + Files.readString(tmp.resolve(run + "/logs/worker-1.log"));
  }

  @Test
  void pushesDelayedAtRandomGiveTheSameWeights() throws Exception {
    assertEquals(train("reference", 0), train("delayed", 3, "--push-jitter-ms", "40"));
  }

  @Test
  void aWorkerOfAnotherModelIsRefusedWithOneLine() throws Exception {
    int port = freePort();
    List<String> serverArgs = new ArrayList<>(List.of("server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
        "--workers", "1", "--out", tmp.resolve("refused").toString(), "--port-file", tmp.resolve("port").toString()));
    serverArgs.addAll(Jobs.spiralsJob(10));
    Process server = Jobs.startChild(serverArgs, tmp.resolve("server.log"));
    try {
      Jobs.awaitText(tmp.resolve("port"), Integer.toString(port), 60);
      List<String> workerArgs = new ArrayList<>(List.of("worker", "--server", "127.0.0.1:" + port));
      workerArgs.addAll(Jobs.spiralsJob(10));
      workerArgs.addAll(List.of("--model", "2-8-3"));
      Jobs.Run r = Jobs.run(workerArgs);
      assertEquals(ExitCode.REFUSED.code(), r.exitCode(), r.err());
      String[] lines = r.err().strip().split("\n");
      assertEquals(1, lines.length, r.err());
      assertTrue(lines[0].contains("model: 2-24-24-3 (server) vs 2-8-3 (worker)"), lines[0]);
    } finally {
      server.destroyForcibly().waitFor();
    }
  }

  @Test
  void aWorkerPointedAtNoServerSaysSoAndExitsNonZero() throws Exception {
    int port = freePort();
    Jobs.Run r = Jobs.run(List.of("worker", "--server", "127.0.0.1:" + port, "--rpc-timeout", "5",
        "--reconnect-seconds", "1"));
    assertEquals(ExitCode.UNAVAILABLE.code(), r.exitCode(), r.err());
    String[] lines = r.err().strip().split("\n");
    String last = lines[lines.length - 1];
    assertTrue(last.startsWith("gradflow worker: parameter server unreachable") && last.contains("127.0.0.1:" + port), last);
    assertTrue(lines.length <= 2, "a retry notice and the reason, no stack trace: " + r.err());
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
