package io.gradflow.cli;

import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.report.JobRecorder;
import io.gradflow.common.train.LocalTrainer;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.train.TrainingListener;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code gradflow train}: a training job, single-process or with N local worker processes. */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    description = "Train a network and write model.gfm, metrics.jsonl and summary.json to --out.")
final class TrainCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin JobOptions job;

  @Mixin SshLauncher.Options ssh;

  @Option(
      names = "--workers",
      paramLabel = "N",
      description = "Worker processes on this machine, plus one parameter server; 0 trains in this process (default: ${DEFAULT-VALUE}).")
  int workers = 2;

  @Option(names = "--push-delay-ms", paramLabel = "MAX", description = "Delay each worker push by a random 0..MAX ms (rehearses stragglers and arrival order; default: ${DEFAULT-VALUE}).")
  long pushDelayMs = 0;

  @Option(names = "--out", paramLabel = "DIR", description = "Output directory (default: runs/train-<time>).")
  Path out;

  @Option(names = "--log-every", paramLabel = "STEPS", description = "Write a metrics record every STEPS steps (default: ${DEFAULT-VALUE}).")
  int logEvery = 10;

  @Option(names = "--progress-seconds", paramLabel = "S", description = "When output is not a terminal, print a progress line at most every S seconds (default: ${DEFAULT-VALUE}).")
  double progressSeconds = 10;

  @Override
  public Integer call() throws java.io.IOException, InterruptedException {
    long started = System.nanoTime();
    ModelSpec modelSpec = job.modelSpec();
    if (workers < 0) {
      throw new ParameterException(spec.commandLine(), "--workers must be >= 0, got " + workers);
    }
    Path dir = out != null ? out : defaultOutDir();
    ProgressDisplay progress =
        new ProgressDisplay(spec.commandLine().getOut(), Terminal.isInteractive(), progressSeconds);
    if (ssh.hosts != null) {
      ssh.launch(job, modelSpec, dir, progress, List.of("--log-every", Integer.toString(logEvery)),
          pushDelayMs > 0 ? List.of("--push-delay-ms", Long.toString(pushDelayMs)) : List.of());
      spec.commandLine().getOut().println("wrote " + dir.resolve("model.gfm") + ", " + dir.resolve("summary.json"));
      return ExitCode.OK.code();
    }
    if (workers > 0) {
      TrainingConfig config = job.trainingConfig();
      if (workers > config.microShards()) {
        throw new ParameterException(spec.commandLine(),
            "--workers " + workers + " exceeds --micro-shards " + config.microShards() + ": raise --micro-shards to at least the worker count");
      }
      List<String> serverArgs = List.of("--log-every", Integer.toString(logEvery));
      List<String> workerArgs = pushDelayMs > 0 ? List.of("--push-delay-ms", Long.toString(pushDelayMs)) : List.of();
      new LocalLauncher(job, modelSpec, config, workers, dir, serverArgs, workerArgs, progress).run();
      spec.commandLine().getOut().println("wrote " + dir.resolve("model.gfm") + ", " + dir.resolve("summary.json"));
      return ExitCode.OK.code();
    }
    TrainTestSplit data = Datasets.load(job, spec);
    TrainingConfig config = job.trainingConfig();
    if (config.batch() > data.train().count()) {
      throw new ParameterException(
          spec.commandLine(),
          "--batch " + config.batch() + " is larger than the training set (" + data.train().count() + " rows)");
    }
    Network net = Network.initialize(modelSpec);
    LocalTrainer trainer = new LocalTrainer(net, config, data);
    try (JobRecorder recorder = new JobRecorder(dir, logEvery, started)) {
      trainer.run(TrainingListener.all(recorder, progress));
    }
    spec.commandLine().getOut().println("wrote " + dir.resolve("model.gfm") + ", " + dir.resolve("summary.json"));
    return ExitCode.OK.code();
  }

  static Path defaultOutDir() {
    return Path.of("runs", "train-" + timestamp());
  }

  static String timestamp() {
    return LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
  }
}
