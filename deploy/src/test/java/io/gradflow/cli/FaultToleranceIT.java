package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real JVMs, real failures: a worker killed with -9, the server killed with -9 and resumed from
 * its checkpoint, a late joiner, a corrupt newest checkpoint. Every job ends with the weights of a
 * job that was never disturbed, to the bit.
 */
class FaultToleranceIT {
  private static final int STEPS = 60;
  @TempDir static Path shared;
  @TempDir Path tmp;
  private static String undisturbed;

  private Jobs.Run train(Path out, int workers, String... extra) {
    List<String> args = new ArrayList<>(List.of("train", "--workers", Integer.toString(workers), "--out", out.toString(),
        "--worker-timeout", "2", "--checkpoint-every", "10"));
    args.addAll(Jobs.spiralsJob(STEPS));
    args.addAll(List.of("--push-jitter-ms", "15", "--warmup-passes", "0"));
    args.addAll(List.of(extra));
    return Jobs.run(args);
  }

  /**
   * The same job with the launcher in a child JVM (its output to {@code log}), so that a test can
   * kill one of its workers and stop the whole tree if the job hangs.
   */
  private Process launch(Path out, Path log, int workers, String... extra) throws Exception {
    List<String> args = new ArrayList<>(List.of("train", "--workers", Integer.toString(workers), "--out", out.toString(),
        "--worker-timeout", "2", "--checkpoint-every", "10"));
    args.addAll(Jobs.spiralsJob(STEPS));
    args.addAll(List.of("--push-jitter-ms", "15", "--warmup-passes", "0"));
    args.addAll(List.of(extra));
    return Jobs.startChild(args, log);
  }

  /** Waits for the launcher to end (at most 3 minutes); its output is the run's {@code out}. */
  private static Jobs.Run awaitLauncher(Process launcher, Path log) throws Exception {
    if (!launcher.waitFor(180, TimeUnit.SECONDS)) {
      launcher.destroyForcibly().waitFor(); // its children watch it and exit
      throw new AssertionError("the job did not end in 3 minutes:\n" + Files.readString(log));
    }
    return new Jobs.Run(launcher.exitValue(), Files.readString(log), "");
  }

  @BeforeAll
  static void undisturbedRun() throws Exception {
    Path out = shared.resolve("undisturbed");
    List<String> args = new ArrayList<>(List.of("train", "--workers", "0", "--out", out.toString()));
    args.addAll(Jobs.spiralsJob(STEPS));
    Jobs.Run r = Jobs.run(args);
    assertEquals(0, r.exitCode(), r.err());
    undisturbed = Jobs.summary(out).weightsSha256();
  }

  private void assertSameWeights(Path out, Jobs.Run r) throws Exception {
    assertEquals(0, r.exitCode(), r.err() + r.out());
    assertEquals(STEPS, Jobs.summary(out).steps());
    assertEquals(undisturbed, Jobs.summary(out).weightsSha256());
  }

  @Test
  void aWorkerKilledMidJobLosesNothing() throws Exception {
    Path out = tmp.resolve("kill-worker");
    Jobs.Run r = train(out, 3, "--fault", "kill-worker:1@15", "--max-restarts", "0");
    assertSameWeights(out, r);
    assertTrue(r.out().contains("(worker-1) (no heartbeat for"), r.out());
  }

  /**
   * {@code --fault restart-worker}: the launcher kills a worker and starts a replacement. With
   * {@code --min-workers 2} the job cannot finish without it, so the replacement must join and work.
   */
  @Test
  void aWorkerRestartedMidJobIsReplacedAndLosesNothing() throws Exception {
    Path out = tmp.resolve("restart-worker");
    Path log = tmp.resolve("restart-worker.log");
    Jobs.Run r = awaitLauncher(launch(out, log, 2, "--fault", "restart-worker:1@15", "--min-workers", "2"), log);
    assertSameWeights(out, r);
    assertTrue(r.out().contains("fault: kill -9 worker 1 after step 15 and start a replacement"), r.out());
    assertReplacementWorked(out, r);
  }

  /**
   * A worker that dies on its own (kill -9 from outside, not a planned fault) is replaced while
   * {@code --max-restarts} allows; the job goes on and ends on the undisturbed weights.
   */
  @Test
  void aWorkerThatDiesIsReplacedWithinMaxRestarts() throws Exception {
    Path out = tmp.resolve("max-restarts");
    Path log = tmp.resolve("max-restarts.log");
    // worker 0 is slow, so the job still runs when worker 1 is killed
    Process launcher = launch(out, log, 2, "--max-restarts", "1", "--min-workers", "2", "--fault", "delay-worker:0:50");
    try {
      Jobs.awaitText(out.resolve("metrics.jsonl.partial"), "\"step\":10,", 120);
      ProcessHandle worker = launcher.descendants()
          .filter(p -> p.info().arguments().map(a -> String.join(" ", a)).orElse("").contains("--name worker-1"))
          .findFirst().orElseThrow(() -> new AssertionError("no worker-1 under the launcher"));
      worker.destroyForcibly();
      worker.onExit().get(20, TimeUnit.SECONDS);
    } catch (Throwable t) {
      launcher.destroyForcibly().waitFor();
      throw t;
    }
    Jobs.Run r = awaitLauncher(launcher, log);
    assertSameWeights(out, r);
    assertTrue(r.out().contains("worker 1 exited with code 137") && r.out().contains("starting a replacement (1/1)"),
        r.out());
    assertReplacementWorked(out, r);
  }

  /**
   * Worker 1 was lost and the replacement (worker-2) trained: below --min-workers 2 the job cannot
   * go on without it.
   */
  private static void assertReplacementWorked(Path out, Jobs.Run r) throws Exception {
    assertTrue(r.out().lines().anyMatch(l -> l.startsWith("lost: ") && l.contains(" (worker-1) ")), r.out());
    Jobs.awaitText(out.resolve("logs/worker-2.log"), "job done", 10);
    String log = Files.readString(out.resolve("logs/worker-2.log"));
    assertTrue(log.contains("joined as rank") && !log.contains(" computed 0 steps"), log);
  }

  @Test
  void theServerKilledMidJobResumesFromItsCheckpoint() throws Exception {
    Path out = tmp.resolve("kill-server");
    Jobs.Run r = train(out, 2, "--fault", "kill-server@25", "--log-every", "2");
    assertSameWeights(out, r);
    assertTrue(r.out().contains("restarting it from its newest checkpoint"), r.out());
    assertTrue(r.out().contains("resuming at step"), r.out());
    // the metrics continue from the checkpoint (step 20): what the killed server logged after it is not kept twice
    List<Long> logged = io.gradflow.common.report.MetricsLog.read(io.gradflow.common.report.MetricsLog.file(out)).steps().stream()
        .map(s -> s.step()).toList();
    assertEquals(java.util.stream.LongStream.rangeClosed(1, STEPS / 2).map(i -> 2 * i).boxed().toList(), logged);
  }

  @Test
  void aLateJoinerGetsWorkFromTheNextStep() throws Exception {
    Path out = tmp.resolve("late-joiner");
    // worker 0 is slow, so the job still runs when the new JVM has started
    Jobs.Run r = train(out, 2, "--fault", "add-worker@5", "--fault", "delay-worker:0:120");
    assertSameWeights(out, r);
    Jobs.awaitText(out.resolve("logs/worker-2.log"), "job done", 10);
    String log = Files.readString(out.resolve("logs/worker-2.log"));
    assertTrue(!log.contains(" computed 0 steps"), log);
  }

  @Test
  void aStragglerWithBackupWorkersLosesNothing() throws Exception {
    Path out = tmp.resolve("straggler");
    Jobs.Run r = train(out, 3, "--fault", "delay-worker:0:200", "--backup-workers", "1");
    assertSameWeights(out, r);
    // idle workers computed copies of the straggler's micro-shards, and its late pushes were duplicates
    Matcher m = Pattern.compile("backup copies: (\\d+) handed out, (\\d+) duplicate push\\(es\\) acknowledged")
        .matcher(r.out());
    assertTrue(m.find(), r.out());
    assertTrue(Long.parseLong(m.group(1)) > 0 && Long.parseLong(m.group(2)) > 0, m.group());
  }

  @Test
  void aCorruptNewestCheckpointFallsBackToTheOneBefore() throws Exception {
    Path out = tmp.resolve("corrupt");
    Jobs.Run first = train(out, 1);
    assertSameWeights(out, first);
    Path ckpts = out.resolve("checkpoints");
    List<Path> files;
    try (var s = Files.list(ckpts)) {
      files = s.sorted().toList();
    }
    assertEquals(3, files.size(), "keeps the newest 3: " + files);
    Path newest = files.get(files.size() - 1);
    try (RandomAccessFile f = new RandomAccessFile(newest.toFile(), "rw")) {
      f.seek(f.length() / 2);
      int b = f.read();
      f.seek(f.length() / 2);
      f.write(b ^ 0xFF);
    }
    Files.delete(out.resolve("summary.json"));
    Path portFile = tmp.resolve("corrupt.port");
    List<String> serverArgs = List.of("server", "--port", "0", "--bind", "127.0.0.1", "--workers", "1",
        "--resume", out.toString(), "--port-file", portFile.toString(), "--linger-seconds", "0");
    Process server = Jobs.startChild(serverArgs, tmp.resolve("corrupt-server.log"));
    try {
      Jobs.awaitText(portFile, "", 60);
      String port = Files.readString(portFile).trim();
      Jobs.Run worker = Jobs.run(List.of("worker", "--server", "127.0.0.1:" + port, "--warmup-passes", "0"));
      assertEquals(0, worker.exitCode(), worker.err());
      assertEquals(0, server.waitFor());
    } finally {
      server.destroyForcibly();
    }
    String log = Files.readString(tmp.resolve("corrupt-server.log"));
    assertTrue(log.contains("WARNING: skipping checkpoint") && log.contains("corrupt"), log);
    assertTrue(log.contains("resuming from") && log.contains("at step " + (STEPS - 10 + 1)), log);
    assertEquals(undisturbed, Jobs.summary(out).weightsSha256());
  }
}
