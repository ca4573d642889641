package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** What train hands its workers of --threads, --warmup-passes and --push-thread. */
class WorkerOptionsTest {
  private static final int CORES = Runtime.getRuntime().availableProcessors();

  private static WorkerOptions parse(String... args) {
    WorkerOptions options = new WorkerOptions();
    new CommandLine(options).parseArgs(args);
    return options;
  }

  /** A push thread only where the host has --threads + 1 cores for each worker on it. */
  @Test
  void byDefaultAWorkerGetsAPushThreadOnlyWhenTheHostHasACoreForIt() {
    WorkerOptions defaults = parse();
    assertEquals(CORES >= 2, defaults.pushThreadFor(1));
    assertTrue(defaults.toArgs(CORES + 1).contains("--no-push-thread"), "more workers than cores: no push thread");
    assertFalse(defaults.toArgs(CORES + 1).contains("--push-thread"));
    assertFalse(parse("--threads", Integer.toString(CORES)).pushThreadFor(1), "compute threads take every core");
  }

  @Test
  void theOptionWinsOverTheHostsCores() {
    assertTrue(parse("--push-thread").toArgs(CORES + 1).contains("--push-thread"));
    assertTrue(parse("--no-push-thread").toArgs(1).contains("--no-push-thread"));
  }

  /** A worker train starts on another host (--hosts) decides on its host, unless told. */
  @Test
  void aWorkerOnAnotherHostDecidesThereUnlessTold() {
    assertFalse(String.join(" ", parse().toArgs()).contains("push-thread"));
    assertTrue(parse("--no-push-thread").toArgs().contains("--no-push-thread"));
  }

  @Test
  void aChildGetsEveryOptionBack() {
    WorkerOptions given = parse("--threads", "3", "--warmup-passes", "7", "--push-jitter-ms", "5", "--no-push-thread");
    WorkerOptions child = parse(given.toArgs(1).toArray(String[]::new));
    assertEquals(List.of(3, 7, 5L, false), List.of(child.threads, child.warmupPasses, child.pushJitterMs, child.pushThread));
  }
}
