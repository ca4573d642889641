package io.gradflow.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** How a worker computes and pushes: {@code --threads}, {@code --warmup-passes} and {@code --push-jitter-ms}; {@code train} hands them to its workers. */
final class WorkerOptions {
  @Option(names = "--threads", paramLabel = "T", description = "Threads computing micro-shards in each process (the single-process trainer or each worker); the weights are the same bits for any count (default: ${DEFAULT-VALUE}).")
  int threads = 1;

  @Option(names = "--push-jitter-ms", paramLabel = "MAX", description = "Delay each worker push by a random 0..MAX ms (rehearses stragglers and arrival order; default: ${DEFAULT-VALUE}).")
  long pushJitterMs = 0;

  @Option(names = "--warmup-passes", paramLabel = "N", description = "Before joining the job, run the first step's forward and backward N times so the JIT has compiled the kernels when training starts (default: ${DEFAULT-VALUE}).")
  int warmupPasses = 40;

  /** {@code --threads} must be at least 1 (a usage error). */
  void check() {
    if (threads < 1) {
      throw CommandFailure.usage("--threads must be at least 1, got " + threads);
    }
    if (warmupPasses < 0) {
      throw CommandFailure.usage("--warmup-passes must be 0 or more, got " + warmupPasses);
    }
  }

  /** These options as arguments for a child worker. */
  List<String> toArgs() {
    List<String> a = new ArrayList<>(pushJitterMs > 0 ? List.of("--push-jitter-ms", Long.toString(pushJitterMs)) : List.of());
    a.addAll(List.of("--threads", Integer.toString(threads), "--warmup-passes", Integer.toString(warmupPasses)));
    return a;
  }
}
