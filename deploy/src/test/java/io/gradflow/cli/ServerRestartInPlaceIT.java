package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
 * A server restarted in place with the same command line, as Kubernetes restarts a pod's
 * container: {@code gradflow server --resume-if-any OUT --out OUT} starts the job when OUT holds no
 * checkpoint yet, and, killed with -9 and started again on the same port, resumes from its newest
 * checkpoint; the worker reconnects and the job ends on the single process's weights. Started once
 * more after the job ended, it ends at once and leaves the outputs as they are.
 */
class ServerRestartInPlaceIT {
  private static final int STEPS = 60;
  @TempDir Path tmp;

  @Test
  void theSameCommandStartsTheJobThenResumesItAfterAKill() throws Exception {
    Path single = tmp.resolve("single");
    List<String> singleArgs = new ArrayList<>(List.of("train", "--workers", "0", "--out", single.toString()));
    singleArgs.addAll(Jobs.spiralsJob(STEPS));
    Jobs.Run r = Jobs.run(singleArgs);
    assertEquals(0, r.exitCode(), r.err());

    Path out = tmp.resolve("run");
    int port = ClusterTesting.freePort();
    List<String> server = new ArrayList<>(List.of("server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
        "--workers", "1", "--out", out.toString(), "--resume-if-any", out.toString(), "--checkpoint-every", "10",
        "--linger-seconds", "0"));
    server.addAll(Jobs.spiralsJob(STEPS));
    Path firstLog = tmp.resolve("server-1.log");
    Path secondLog = tmp.resolve("server-2.log");
    Path workerLog = tmp.resolve("worker.log");
    Process first = Jobs.startChild(server, firstLog);
    Process second = null;
    Process third = null;
    Process worker = null;
    try {
      worker = Jobs.startChild(List.of("worker", "--server", "127.0.0.1:" + port, "--push-delay-ms", "40",
          "--warmup-passes", "0"), workerLog);
      Jobs.awaitText(out.resolve("metrics.jsonl.partial"), "\"step\":20,", 120);
      first.destroyForcibly().waitFor();
      assertTrue(Files.readString(firstLog).contains("no checkpoint in " + out + " yet: starting the job at step 1"),
          Files.readString(firstLog));

      second = Jobs.startChild(server, secondLog);
      assertTrue(second.waitFor(120, TimeUnit.SECONDS), "the restarted server did not end:\n" + Files.readString(secondLog));
      String logs = "\n--- server ---\n" + Files.readString(secondLog) + "\n--- worker ---\n" + Files.readString(workerLog);
      assertEquals(0, second.exitValue(), logs);
      assertTrue(Files.readString(secondLog).contains("resuming from "), logs);
      assertTrue(worker.waitFor(60, TimeUnit.SECONDS), logs);
      assertEquals(0, worker.exitValue(), logs);
      assertEquals(STEPS, Jobs.summary(out).steps(), logs);
      assertEquals(Jobs.summary(single).weightsSha256(), Jobs.summary(out).weightsSha256(), "same weights" + logs);

      // restarted once more after the job ended (a pod's container restarted): it ends at once, the outputs stay
      byte[] summary = Files.readAllBytes(out.resolve("summary.json"));
      byte[] metrics = Files.readAllBytes(out.resolve("metrics.jsonl"));
      Path thirdLog = tmp.resolve("server-3.log");
      third = Jobs.startChild(server, thirdLog);
      assertTrue(third.waitFor(60, TimeUnit.SECONDS), "a server restarted after the end waits:\n" + Files.readString(thirdLog));
      assertEquals(0, third.exitValue(), Files.readString(thirdLog));
      assertTrue(Files.readString(thirdLog).contains("the job finished already: ")
          && Files.readString(thirdLog).contains("holds its " + STEPS + " steps"), Files.readString(thirdLog));
      assertArrayEquals(summary, Files.readAllBytes(out.resolve("summary.json")));
      assertArrayEquals(metrics, Files.readAllBytes(out.resolve("metrics.jsonl")));
    } finally {
      for (Process p : new Process[] {first, second, third, worker}) {
        if (p != null) {
          p.destroyForcibly();
        }
      }
    }
  }

  @Test
  void resumeAndResumeIfAnyTogetherAreAUsageError() {
    Jobs.Run r = Jobs.run(List.of("server", "--resume", tmp.toString(), "--resume-if-any", tmp.toString(), "--port", "0"));
    assertEquals(ExitCode.USAGE.code(), r.exitCode(), r.err());
    assertTrue(r.err().contains("--resume and --resume-if-any go alone"), r.err());
  }
}
