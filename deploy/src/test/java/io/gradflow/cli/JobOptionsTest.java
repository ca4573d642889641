package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The job options: one set of mixins for every command, and the arguments a launcher hands a child. */
class JobOptionsTest {
  /** Parses {@code worker --server h:1 ARGS} and returns its job options. */
  private static JobOptions worker(String... args) {
    List<String> all = new ArrayList<>(List.of("worker", "--server", "h:1"));
    all.addAll(List.of(args));
    var parsed = Main.commandLine().parseArgs(all.toArray(String[]::new));
    return ((WorkerCommand) parsed.subcommand().commandSpec().userObject()).job;
  }

  @Test
  void argsForGivesAChildTheSameJobForEveryOption() {
    JobOptions given = worker("--model", "5-7-6-3", "--activation", "relu,tanh", "--init", "xavier",
        "--dataset", "blobs:3:200:5", "--data-dir", "some/data", "--epochs", "4", "--max-steps", "33",
        "--batch", "24", "--micro-shards", "6", "--lr", "0.125", "--momentum", "0.5", "--weight-decay", "0.001",
        "--schedule", "step", "--warmup", "3", "--step-size", "7", "--gamma", "0.25", "--seed", "42",
        "--kernels", "ejml", "--push-precision", "bf16", "--staleness", "2");
    List<String> args = JobOptions.argsFor(given.modelSpec(), given.trainingConfig(), given.data.dataDir);
    JobOptions child = worker(args.toArray(String[]::new));
    assertEquals(given.modelSpec(), child.modelSpec());
    assertEquals(given.trainingConfig(), child.trainingConfig());
    assertEquals(Path.of("some/data").toAbsolutePath(), child.data.dataDir);
    assertEquals(args, JobOptions.argsFor(child.modelSpec(), child.trainingConfig(), child.data.dataDir));
  }

  @Test
  void theDefaultsRoundTripToo() {
    JobOptions defaults = worker();
    JobOptions child = worker(JobOptions.argsFor(defaults.modelSpec(), defaults.trainingConfig(), null)
        .toArray(String[]::new));
    assertEquals(defaults.modelSpec(), child.modelSpec());
    assertEquals(defaults.trainingConfig(), child.trainingConfig());
  }

  @Test
  void anyJobOptionOfAnyGroupCountsAsGivenButTheDataDirectory() {
    assertFalse(worker().givenExplicitly());
    assertFalse(worker("--data-dir", "d").givenExplicitly());
    for (String[] option : List.of(new String[] {"--model", "2-3"}, new String[] {"--dataset", "spirals"},
        new String[] {"--lr", "0.1"}, new String[] {"--batch", "4"}, new String[] {"--push-precision", "fp32"},
        new String[] {"--seed", "2"})) {
      assertTrue(worker(option).givenExplicitly(), option[0]);
    }
    // the worker's own options are not job options
    assertFalse(worker("--threads", "2", "--name", "w").givenExplicitly());
  }

  @Test
  void everyCommandThatTakesAnOptionDescribesItAndDefaultsItAlike() {
    var commands = Main.commandLine().getSubcommands();
    List<String> jobCommands = List.of("train", "server", "worker", "submit");
    List<String> withBench = List.of("train", "server", "worker", "submit", "bench");
    var takers = new java.util.LinkedHashMap<String, List<String>>();
    for (String option : List.of("--model", "--activation", "--batch", "--micro-shards", "--push-precision")) {
      takers.put(option, withBench);
    }
    for (String option : List.of("--dataset", "--data-dir", "--lr", "--seed", "--kernels")) {
      takers.put(option, jobCommands);
    }
    takers.put("--log-every", List.of("train", "server", "submit"));
    takers.put("--checkpoint-every", List.of("train", "server"));
    takers.put("--threads", List.of("train", "worker"));
    takers.forEach((option, names) -> {
      String first = null;
      for (String name : names) {
        var spec = commands.get(name).getCommandSpec().findOption(option);
        String d = String.join(" ", spec.description()) + " / " + spec.defaultValueString();
        first = first == null ? d : first;
        assertEquals(first, d, name + " " + option);
      }
    });
  }
}
