package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every pair of {@code --fault} kinds, in both orders, on a small job with two workers: each job
 * ends, with the weights of an undisturbed run. A job that has not ended after {@link #HANG}
 * seconds is a hang: its launcher is killed (its children watch it and exit) and the pair is
 * named in the failure. The jobs run two at a time (a job mostly waits: for JVMs to start, a
 * lost worker's timeout, a server's restart); their JVMs run with the C1 compiler only (as
 * every JVM a test starts: deploy/pom.xml), which starts faster on a small machine and computes the
 * same bits.
 */
class FaultCombinationsIT {
  private static final int STEPS = 30;
  private static final int HANG = 120;
  private static final int CONCURRENT_JOBS = 2;

  @TempDir Path tmp;

  /** The fault specs of one kind, for the first (at step 8) or the second (at step 18) of a pair. */
  private static String fault(FaultSpec.Kind kind, int step) {
    return switch (kind) {
      case KILL_WORKER -> "kill-worker:1@" + step;
      case RESTART_WORKER -> "restart-worker:0@" + step;
      case KILL_SERVER -> "kill-server@" + step;
      case ADD_WORKER -> "add-worker@" + step;
      case DELAY_WORKER -> "delay-worker:0:20";
    };
  }

  /** Ordered pairs of distinct kinds; a delay has no step, so a pair with one is run in one order only. */
  static List<List<String>> pairs() {
    List<List<String>> pairs = new ArrayList<>();
    for (FaultSpec.Kind first : FaultSpec.Kind.values()) {
      for (FaultSpec.Kind second : FaultSpec.Kind.values()) {
        if (first == second || second == FaultSpec.Kind.DELAY_WORKER) {
          continue;
        }
        pairs.add(List.of(fault(first, 8), fault(second, first == FaultSpec.Kind.DELAY_WORKER ? 12 : 18)));
      }
    }
    return pairs;
  }

  private static List<String> job(Path out, int workers) {
    List<String> args = new ArrayList<>(List.of("train", "--workers", Integer.toString(workers), "--out", out.toString(),
        "--worker-timeout", "1.5", "--checkpoint-every", "5", "--warmup-passes", "0"));
    args.addAll(Jobs.spiralsJob(STEPS));
    return args;
  }

  /** Runs {@code gradflow ARGS} as a launcher in a child JVM with its output in {@code log}; null when it hung (it is killed). */
  private static Integer launch(List<String> args, Path log) throws Exception {
    Process launcher = Jobs.startChild(args, log);
    if (!launcher.waitFor(HANG, TimeUnit.SECONDS)) {
      launcher.destroyForcibly().waitFor(); // its children watch it and exit
      return null;
    }
    return launcher.exitValue();
  }

  /** Runs the job with the faults {@code pair}; returns null when it ended on {@code undisturbed}, else what went wrong. */
  private String runPair(List<String> pair, String undisturbed, int index) throws Exception {
    Path out = tmp.resolve("pair-" + index);
    Path log = tmp.resolve("pair-" + index + ".log");
    List<String> args = job(out, 2);
    for (String f : pair) {
      args.addAll(List.of("--fault", f));
    }
    Integer code = launch(args, log);
    if (code == null) {
      return pair + ": did not end in " + HANG + " s:\n" + tail(log);
    }
    if (code != 0) {
      return pair + ": exit " + code + ":\n" + tail(log);
    }
    String hash = Jobs.summary(out).weightsSha256();
    return hash.equals(undisturbed) ? null : pair + ": weights " + hash + ", expected " + undisturbed;
  }

  private static String tail(Path log) throws Exception {
    List<String> lines = Files.readAllLines(log);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 12), lines.size()));
  }

  @Test
  void everyPairOfFaultsEndsOnTheUndisturbedWeights() throws Exception {
    Path reference = tmp.resolve("undisturbed");
    Jobs.Run r = Jobs.run(job(reference, 0));
    assertEquals(0, r.exitCode(), r.err());
    String undisturbed = Jobs.summary(reference).weightsSha256();

    List<List<String>> pairs = pairs();
    assertEquals(16, pairs.size(), pairs.toString());
    ExecutorService pool = Executors.newFixedThreadPool(CONCURRENT_JOBS);
    try {
      List<Future<String>> results = new ArrayList<>();
      for (int i = 0; i < pairs.size(); i++) {
        List<String> pair = pairs.get(i);
        int index = i;
        results.add(pool.submit(() -> runPair(pair, undisturbed, index)));
      }
      List<String> failures = new ArrayList<>();
      for (Future<String> f : results) {
        String failure = f.get();
        if (failure != null) {
          failures.add(failure);
        }
      }
      assertTrue(failures.isEmpty(), failures.size() + " of " + pairs.size() + " pairs failed:\n" + String.join("\n\n", failures));
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * The server killed before its first checkpoint is restarted from the first step (there is
   * nothing to resume from) and the job ends on the undisturbed weights.
   */
  @Test
  void aServerKilledBeforeItsFirstCheckpointStartsOver() throws Exception {
    Path reference = tmp.resolve("undisturbed");
    assertEquals(0, Jobs.run(job(reference, 0)).exitCode());
    Path out = tmp.resolve("early-kill");
    Path log = tmp.resolve("early-kill.log");
    List<String> args = job(out, 2);
    args.addAll(List.of("--fault", "kill-server@2"));
    Integer code = launch(args, log);
    assertTrue(code != null, "did not end in " + HANG + " s:\n" + tail(log));
    assertEquals(0, code, tail(log));
    assertTrue(Files.readString(log).contains("restarting it from the first step (it wrote no checkpoint yet)"), tail(log));
    assertEquals(Jobs.summary(reference).weightsSha256(), Jobs.summary(out).weightsSha256());
  }

  /**
   * A worker killed without a replacement leaves fewer workers than {@code --min-workers}: the job
   * would pause for good, so the launcher stops it with the reason (exit 1, one line).
   */
  @Test
  void aKilledWorkerBelowMinWorkersStopsTheJobWithTheReason() throws Exception {
    Path log = tmp.resolve("below-min.log");
    List<String> args = job(tmp.resolve("below-min"), 2);
    args.addAll(List.of("--min-workers", "2", "--fault", "kill-worker:1@8"));
    Integer code = launch(args, log);
    assertTrue(code != null, "did not end in " + HANG + " s:\n" + tail(log));
    assertEquals(ExitCode.FAILED.code(), code, tail(log));
    List<String> lines = Files.readAllLines(log).stream().filter(l -> !l.isBlank()).toList();
    String last = lines.get(lines.size() - 1);
    assertTrue(last.contains("worker 1 was killed on purpose") && last.contains("below --min-workers 2"), tail(log));
  }

  @Test
  void minWorkersAboveTheWorkerCountIsAUsageError() {
    List<String> args = job(tmp.resolve("min-above"), 2);
    args.addAll(List.of("--min-workers", "3"));
    Jobs.Run r = Jobs.run(args);
    assertEquals(ExitCode.USAGE.code(), r.exitCode(), r.err());
    assertTrue(r.err().contains("--min-workers 3 exceeds --workers 2"), r.err());
  }
}
