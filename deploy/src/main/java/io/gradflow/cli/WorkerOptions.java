package io.gradflow.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** How a worker computes and pushes: {@code --threads} and {@code --push-jitter-ms}; {@code train} hands them to its workers. */
final class WorkerOptions {
  @Option(names = "--threads", paramLabel = "T", description = "Threads computing micro-shards in each process (the single-process trainer or each worker); the weights are the same bits for any count (default: ${DEFAULT-VALUE}).")
  int threads = 1;

  @Option(names = "--push-jitter-ms", paramLabel = "MAX", description = "Delay each worker push by a random 0..MAX ms (rehearses stragglers and arrival order; default: ${DEFAULT-VALUE}).")
  long pushJitterMs = 0;

  /** {@code --threads} must be at least 1 (a usage error). */
  void check() {
    if (threads < 1) {
      throw CommandFailure.usage("--threads must be at least 1, got " + threads);
    }
  }

  /** These options as arguments for a child worker. */
  List<String> toArgs() {
    List<String> a = new ArrayList<>(pushJitterMs > 0 ? List.of("--push-jitter-ms", Long.toString(pushJitterMs)) : List.of());
    a.addAll(List.of("--threads", Integer.toString(threads)));
    return a;
  }
}
