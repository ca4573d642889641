package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --staleness 1} with real JVMs: the single process's weights, to the bit, for 1, 2 and 3
 * workers (through shared memory, the Unix socket or TCP, with and without each worker's push
 * thread), after a worker killed with -9, and after the server killed with -9 and resumed from a
 * checkpoint that keeps the weights of the step before (both with push threads).
 */
class StalenessIT {
  private static final int STEPS = 40;
  @TempDir static Path shared;
  @TempDir Path tmp;
  private static String singleProcess;

  private static Jobs.Run train(Path out, int workers, String... extra) {
    List<String> args = new ArrayList<>(List.of("train", "--workers", Integer.toString(workers), "--out", out.toString(),
        "--staleness", "1"));
    args.addAll(Jobs.spiralsJob(STEPS));
    if (workers > 0) {
      args.addAll(List.of("--warmup-passes", "0")); // a tiny model: nothing to gain, JVM time to lose
    }
    args.addAll(List.of(extra));
    return Jobs.run(args);
  }

  @BeforeAll
  static void singleProcessRun() throws Exception {
    Path out = shared.resolve("single");
    Jobs.Run r = train(out, 0);
    assertEquals(0, r.exitCode(), r.err());
    singleProcess = Jobs.summary(out).weightsSha256();
    Path sync = shared.resolve("synchronous");
    List<String> args = new ArrayList<>(List.of("train", "--workers", "0", "--out", sync.toString()));
    args.addAll(Jobs.spiralsJob(STEPS));
    assertEquals(0, Jobs.run(args).exitCode());
    assertNotEquals(Jobs.summary(sync).weightsSha256(), singleProcess, "staleness 1 trains other weights than synchronous SGD");
  }

  private void assertSingleProcessWeights(Path out, Jobs.Run r) throws Exception {
    assertEquals(0, r.exitCode(), r.err() + r.out());
    assertEquals(STEPS, Jobs.summary(out).steps());
    assertEquals(singleProcess, Jobs.summary(out).weightsSha256());
  }

  @Test
  void oneTwoAndThreeWorkersGiveTheSingleProcessWeights() throws Exception {
    Path one = tmp.resolve("one");
    assertSingleProcessWeights(one, train(one, 1, "--no-shared-memory", "--no-unix-socket")); // TCP chunks
    Path two = tmp.resolve("two");
    assertSingleProcessWeights(two, train(two, 2, "--no-shared-memory")); // Unix socket chunks
    Path three = tmp.resolve("three");
    assertSingleProcessWeights(three, train(three, 3, "--push-jitter-ms", "15")); // shared memory, any arrival order
    Path pushThreads = tmp.resolve("push-threads");
    assertSingleProcessWeights(pushThreads, train(pushThreads, 3, "--push-jitter-ms", "15", "--push-thread"));
    assertPushThreads(pushThreads, 3);
  }

  /** Each of the run's {@code workers} sent its pushes on its push thread (the default leaves it out where cores are few). */
  private static void assertPushThreads(Path out, int workers) throws Exception {
    for (int w = 0; w < workers; w++) {
      String log = Files.readString(out.resolve("logs/worker-" + w + ".log"));
      assertTrue(log.contains("each push leaves on a thread of its own while the next step computes"), log);
    }
  }

  @Test
  void aWorkerKilledMidJobLosesNothing() throws Exception {
    Path out = tmp.resolve("kill-worker");
    Jobs.Run r = train(out, 3, "--worker-timeout", "2", "--fault", "kill-worker:1@15", "--max-restarts", "0",
        "--push-jitter-ms", "15", "--push-thread");
    assertSingleProcessWeights(out, r);
    assertPushThreads(out, 1);
    assertTrue(r.out().contains("(worker-1) (no heartbeat for"), r.out());
  }

  @Test
  void theServerKilledMidJobResumesWithTheStaleWeightsOfItsCheckpoint() throws Exception {
    Path out = tmp.resolve("kill-server");
    Jobs.Run r = train(out, 2, "--checkpoint-every", "10", "--fault", "kill-server@25", "--push-jitter-ms", "15",
        "--push-thread");
    assertSingleProcessWeights(out, r);
    assertPushThreads(out, 2);
    assertTrue(r.out().contains("restarting it from its newest checkpoint"), r.out());
    assertTrue(r.out().contains("resuming at step"), r.out());
  }
}
