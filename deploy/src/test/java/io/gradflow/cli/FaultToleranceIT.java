package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
    args.addAll(List.of("--push-jitter-ms", "15"));
    args.addAll(List.of(extra));
    return Jobs.run(args);
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

  @Test
  void theServerKilledMidJobResumesFromItsCheckpoint() throws Exception {
    Path out = tmp.resolve("kill-server");
    Jobs.Run r = train(out, 2, "--fault", "kill-server@25");
    assertSameWeights(out, r);
    assertTrue(r.out().contains("restarting it from its newest checkpoint"), r.out());
    assertTrue(r.out().contains("resuming at step"), r.out());
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
        "--resume", out.toString(), "--port-file", portFile.toString());
    Process server = Jobs.startChild(serverArgs, tmp.resolve("corrupt-server.log"));
    try {
      Jobs.awaitText(portFile, "", 60);
      String port = Files.readString(portFile).trim();
      Jobs.Run worker = Jobs.run(List.of("worker", "--server", "127.0.0.1:" + port));
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
