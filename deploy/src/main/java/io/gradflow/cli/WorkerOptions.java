package io.gradflow.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** How a worker (or the single process) computes and pushes: {@code --threads}, {@code --warmup-passes}, {@code --push-jitter-ms} and {@code --push-thread}; {@code train} hands them to its workers. */
final class WorkerOptions {
  @Option(names = "--threads", paramLabel = "T", description = "Threads computing micro-shards in each process (the single-process trainer or each worker); the weights are the same bits for any count (default: ${DEFAULT-VALUE}).")
  int threads = 1;

  @Option(names = "--push-jitter-ms", paramLabel = "MAX", description = "Delay each worker push by a random 0..MAX ms (rehearses stragglers and arrival order; default: ${DEFAULT-VALUE}).")
  long pushJitterMs = 0;

  @Option(names = "--warmup-passes", paramLabel = "N", description = "Compile the kernels before training starts: a worker runs the first step's forward and backward N times before it reports ready; the single process (train --workers 0) runs made-up steps while its data loads, none with 0 (default: ${DEFAULT-VALUE}).")
  int warmupPasses = 40;

  @Option(names = "--push-thread", negatable = true, description = "With --staleness 1 or more and the server on this host (its shared-memory plane), send each push on a thread of its own while the next step computes. Default: on when the host has a core for it, at least --threads + 1 cores per worker process (train counts the workers it starts on this machine; a worker started otherwise counts itself).")
  Boolean pushThread;

  /** {@code --threads} must be at least 1, {@code --warmup-passes} and {@code --push-jitter-ms} 0 or more (usage errors). */
  void check() {
    if (threads < 1) {
      throw CommandFailure.usage("--threads must be at least 1, got " + threads);
    }
    if (warmupPasses < 0) {
      throw CommandFailure.usage("--warmup-passes must be 0 or more, got " + warmupPasses);
    }
    if (pushJitterMs < 0) {
      throw CommandFailure.usage("--push-jitter-ms " + pushJitterMs + ": expected 0 or more ms");
    }
  }

  /**
   * Whether a worker process sends its pushes on a push thread, one of {@code workersOnHost} on
   * this host: as {@code --push-thread} says, else when the host has {@code --threads + 1} cores
   * for each of them. On two cores one worker gains from the thread and two workers lose (each
   * push then waits for a core; docs/performance.md).
   */
  boolean pushThreadFor(int workersOnHost) {
    return pushThread != null ? pushThread : Runtime.getRuntime().availableProcessors() >= workersOnHost * (threads + 1);
  }

  /** These options as arguments for a child worker, one of {@code workersOnHost} on this host. */
  List<String> toArgs(int workersOnHost) {
    List<String> a = toArgs();
    if (pushThread == null) {
      a.add(pushThreadFor(workersOnHost) ? "--push-thread" : "--no-push-thread");
    }
    return a;
  }

  /** These options as arguments for a worker on another host: without --push-thread, unless given, it decides there. */
  List<String> toArgs() {
    List<String> a = new ArrayList<>(pushJitterMs > 0 ? List.of("--push-jitter-ms", Long.toString(pushJitterMs)) : List.of());
    a.addAll(List.of("--threads", Integer.toString(threads), "--warmup-passes", Integer.toString(warmupPasses)));
    if (pushThread != null) {
      a.add(pushThread ? "--push-thread" : "--no-push-thread");
    }
    return a;
  }
}
