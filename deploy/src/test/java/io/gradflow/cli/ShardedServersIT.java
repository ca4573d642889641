package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.checkpoint.Checkpoint;
import io.gradflow.common.checkpoint.CheckpointStore;
import io.gradflow.common.report.MetricsLog;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train --servers S} with real JVMs: the parameters cut into S ranges, one server process
 * per range, give the single process's weights to the bit for S = 2 and 3 with 1, 2 and 3 workers,
 * with and without staleness; the coordinator's outputs and final checkpoint hold the whole model,
 * and its metrics log the single process's records (but for the gradient norms, left out);
 * a follower killed with -9 and restarted alone comes back empty, the coordinator rolls back to its
 * checkpoint and seeds it; a coordinator killed and restarted alone seeds the followers ahead of
 * it; either way the job ends on the same weights.
 */
class ShardedServersIT {
  /** Less than an epoch (40 steps): the followers' ranges are read for the checkpoints (every 10 steps) and the end. */
  private static final int STEPS = 30;
  @TempDir static Path shared;
  @TempDir Path tmp;
  private static String singleProcess;
  private static String singleProcessStale;

  private static List<String> job(Path out, int workers, String... extra) {
    List<String> args = new ArrayList<>(List.of("train", "--workers", Integer.toString(workers), "--out", out.toString()));
    args.addAll(Jobs.spiralsJob(STEPS));
    args.addAll(List.of("--checkpoint-every", "10"));
    if (workers > 0) {
      args.addAll(List.of("--warmup-passes", "0"));
    }
    args.addAll(List.of(extra));
    return args;
  }

  @BeforeAll
  static void singleProcessRuns() {
    Path out = shared.resolve("single");
    Jobs.Run r = Jobs.run(job(out, 0));
    assertEquals(0, r.exitCode(), r.err());
    singleProcess = Jobs.summary(out).weightsSha256();
    Path stale = shared.resolve("single-stale");
    r = Jobs.run(job(stale, 0, "--staleness", "1"));
    assertEquals(0, r.exitCode(), r.err());
    singleProcessStale = Jobs.summary(stale).weightsSha256();
  }

  private static void assertWeights(String expected, Path out, Jobs.Run r) {
    assertEquals(0, r.exitCode(), r.err() + r.out());
    assertEquals(STEPS, Jobs.summary(out).steps());
    assertEquals(expected, Jobs.summary(out).weightsSha256(), "weights of " + out.getFileName());
  }

  /**
   * metrics.jsonl of a sharded job: the single process's step and epoch records, but for their
   * times and the gradient norms, which the coordinator cannot tell (it holds range 0 of the
   * gradient only) and leaves out rather than report a part.
   */
  private static void assertSameRecordsAsTheSingleProcess(Path out) {
    MetricsLog single = MetricsLog.read(MetricsLog.file(shared.resolve("single")));
    MetricsLog sharded = MetricsLog.read(MetricsLog.file(out));
    assertEquals(single.steps().size(), sharded.steps().size());
    for (int i = 0; i < single.steps().size(); i++) {
      MetricsLog.Step a = single.steps().get(i);
      MetricsLog.Step b = sharded.steps().get(i);
      assertEquals(List.of(a.step(), a.epoch(), a.loss(), a.lr()), List.of(b.step(), b.epoch(), b.loss(), b.lr()), "step record " + i);
      assertEquals(3, a.gradNorms().length);
      assertNull(b.gradNorms(), "grad_norms of a sharded job's step " + b.step());
    }
    assertFalse(single.epochs().isEmpty());
    assertEquals(single.epochs().size(), sharded.epochs().size());
    for (int i = 0; i < single.epochs().size(); i++) {
      MetricsLog.Epoch a = single.epochs().get(i);
      MetricsLog.Epoch b = sharded.epochs().get(i);
      assertEquals(List.of(a.epoch(), a.step(), a.trainLoss(), a.testLoss(), a.testAccuracy()),
          List.of(b.epoch(), b.step(), b.trainLoss(), b.testLoss(), b.testAccuracy()), "epoch record " + i);
    }
  }

  @Test
  void twoServersGiveTheSingleProcessWeightsWithOneTwoAndThreeWorkers() {
    for (int workers = 1; workers <= 3; workers++) {
      Path out = tmp.resolve("s2-w" + workers);
      // one worker over TCP, the others through the servers' Unix domain sockets
      String transport = workers == 1 ? "--no-unix-socket" : "--unix-socket";
      assertWeights(singleProcess, out, Jobs.run(job(out, workers, "--servers", "2", transport)));
    }
  }

  @Test
  void threeServersGiveTheSingleProcessWeightsWithOneTwoAndThreeWorkers() throws Exception {
    for (int workers = 1; workers <= 3; workers++) {
      Path out = tmp.resolve("s3-w" + workers);
      assertWeights(singleProcess, out, Jobs.run(job(out, workers, "--servers", "3", "--push-jitter-ms", "5")));
    }
    // the final checkpoint holds the whole model too (the coordinator read every range)
    Checkpoint last = new CheckpointStore(tmp.resolve("s3-w3").resolve("checkpoints"), 3, w -> { }).loadNewestValid().orElseThrow();
    assertEquals(STEPS, last.step());
    assertEquals(singleProcess, last.network().sha256());
    assertSameRecordsAsTheSingleProcess(tmp.resolve("s3-w3"));
    // timing.json: every server's share of the bytes and of the reduce
    io.gradflow.common.report.RunTiming timing = io.gradflow.common.report.RunTiming.read(
        io.gradflow.common.report.RunTiming.file(tmp.resolve("s3-w3")));
    assertEquals(3, timing.servers().size(), timing.toString());
    assertEquals(24 * 2 + 24 + 24 * 24 + 24 + 24 * 3 + 3, timing.servers().stream().mapToLong(s -> s.parameters()).sum());
    for (io.gradflow.common.report.RunTiming.Server s : timing.servers()) {
      assertTrue(s.bytesIn() > 0 && s.bytesOut() > 0, s.toString());
    }
  }

  @Test
  void withStalenessEachRangeFollowsTheSameRule() {
    Path out = tmp.resolve("s3-stale");
    assertWeights(singleProcessStale, out, Jobs.run(job(out, 2, "--servers", "3", "--staleness", "1", "--push-jitter-ms", "5")));
  }

  @Test
  void aKilledFollowerRestartedAloneIsSeededAndTheJobEndsOnTheSameWeights() {
    Path follower = tmp.resolve("kill-follower");
    Jobs.Run r = Jobs.run(job(follower, 2, "--servers", "2", "--fault", "kill-server:1@15"));
    assertWeights(singleProcess, follower, r);
    assertTrue(r.out().contains("restarting it alone"), r.out());
    assertTrue(r.out().contains("rolling back: server 1 lost its state"), r.out());
    assertFalse(r.out().contains("restarting all"), r.out());
  }

  @Test
  void aKilledCoordinatorRestartedAloneSeedsTheFollowersAheadOfItAndTheJobEndsOnTheSameWeights() {
    Path coordinator = tmp.resolve("kill-coordinator");
    Jobs.Run r = Jobs.run(job(coordinator, 2, "--servers", "3", "--staleness", "1", "--fault", "kill-server:0@22"));
    assertWeights(singleProcessStale, coordinator, r);
    assertTrue(r.out().contains("restarting it from its newest checkpoint; it seeds the followers"), r.out());
  }

  @Test
  void aModelTooSmallForTheServersIsRefused() {
    Jobs.Run r = Jobs.run(List.of("train", "--workers", "2", "--servers", "7", "--out", tmp.resolve("small").toString(),
        "--dataset", "spirals", "--model", "2-24-24-3", "--max-steps", "2"));
    assertEquals(ExitCode.USAGE.code(), r.exitCode(), r.err());
    assertTrue(r.err().contains("--servers 7") && r.err().contains("2-24-24-3"), r.err());
  }
}
