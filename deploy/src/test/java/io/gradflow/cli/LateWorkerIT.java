package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker that comes after its job ended (started too late, or paused through the end) is told
 * that the job is over and exits 10 at once, while the server lingers after the job; it does not
 * retry for {@code --reconnect-seconds} and exit 6 as if the server were down.
 */
class LateWorkerIT {
  @TempDir Path tmp;

  @Test
  void aWorkerStartedAfterTheJobEndedIsToldTheJobIsOverAndExits10() throws Exception {
    Path portFile = tmp.resolve("server.port");
    Path serverLog = tmp.resolve("server.log");
    List<String> serverArgs = new ArrayList<>(List.of("server", "--port", "0", "--bind", "127.0.0.1", "--workers", "1",
        "--port-file", portFile.toString(), "--out", tmp.resolve("out").toString(), "--linger-seconds", "8"));
    serverArgs.addAll(Jobs.spiralsJob(10));
    Process server = Jobs.startChild(serverArgs, serverLog);
    try {
      Jobs.awaitText(portFile, "", 60);
      String address = "127.0.0.1:" + Files.readString(portFile).trim();
      Jobs.Run onTime = Jobs.run(List.of("worker", "--server", address, "--warmup-passes", "0"));
      assertEquals(0, onTime.exitCode(), onTime.err());

      Jobs.Run late = Jobs.run(List.of("worker", "--server", address, "--name", "late", "--reconnect-seconds", "5"));
      assertEquals(ExitCode.JOB_OVER.code(), late.exitCode(), late.err());
      List<String> lines = late.err().lines().filter(l -> !l.isBlank()).toList();
      assertTrue(lines.get(lines.size() - 1).contains("the job is over: it finished after step 10"), late.err());
      assertTrue(late.err().lines().noneMatch(l -> l.contains("unreachable")), late.err());

      assertTrue(server.waitFor(60, TimeUnit.SECONDS), "the server ends after its linger");
      assertEquals(0, server.exitValue(), Files.readString(serverLog));
      assertTrue(Files.readString(serverLog).contains("telling late workers so"), Files.readString(serverLog));
    } finally {
      server.destroyForcibly();
    }
  }

  /**
   * A worker stopped with SIGSTOP is declared lost, the job ends without it, and when it is
   * continued (SIGCONT) while the server lingers, it is told the job is over and exits 10.
   */
  @Test
  void aWorkerPausedThroughTheEndIsToldTheJobIsOverWhenItContinues() throws Exception {
    int steps = 120; // paused after step 10: 110 steps of at least 30 ms to lose it (1 s) and end without it
    Path portFile = tmp.resolve("server.port");
    Path serverLog = tmp.resolve("server.log");
    Path out = tmp.resolve("out");
    List<String> serverArgs = new ArrayList<>(List.of("server", "--port", "0", "--bind", "127.0.0.1", "--workers", "2",
        "--port-file", portFile.toString(), "--out", out.toString(), "--worker-timeout", "1", "--linger-seconds", "60"));
    serverArgs.addAll(Jobs.spiralsJob(steps));
    Process server = Jobs.startChild(serverArgs, serverLog);
    Process onTime = null;
    Process paused = null;
    try {
      Jobs.awaitText(portFile, "", 60);
      String address = "127.0.0.1:" + Files.readString(portFile).trim();
      onTime = Jobs.startChild(List.of("worker", "--server", address, "--name", "on-time", "--push-delay-ms", "30",
          "--warmup-passes", "0"),
          tmp.resolve("on-time.log"));
      Path pausedLog = tmp.resolve("paused.log");
      paused = Jobs.startChild(List.of("worker", "--server", address, "--name", "paused", "--warmup-passes", "0"),
          pausedLog);
      Jobs.awaitText(out.resolve("metrics.jsonl.partial"), "\"step\":10,", 120);
      signal("STOP", paused);
      Jobs.awaitText(out.resolve("summary.json"), "weights_sha256", 120); // the job ended without it
      assertTrue(onTime.waitFor(30, TimeUnit.SECONDS) && onTime.exitValue() == 0, Files.readString(tmp.resolve("on-time.log")));
      signal("CONT", paused);
      assertTrue(paused.waitFor(30, TimeUnit.SECONDS), "the continued worker ends at once:\n" + Files.readString(pausedLog));
      String log = Files.readString(pausedLog);
      assertEquals(ExitCode.JOB_OVER.code(), paused.exitValue(), log);
      assertTrue(log.contains("the job is over: it finished after step " + steps) && !log.contains("unreachable"), log);
      assertTrue(Files.readString(serverLog).contains("lost: "), Files.readString(serverLog));
    } finally {
      for (Process p : new Process[] {paused, onTime, server}) {
        if (p != null) {
          signal("CONT", p);
          p.destroyForcibly();
        }
      }
    }
  }

  private static void signal(String name, Process p) throws Exception {
    new ProcessBuilder("kill", "-" + name, Long.toString(p.pid())).inheritIO().start().waitFor();
  }
}
