package io.gradflow.cli;

import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.report.JobRecorder;
import io.gradflow.common.train.LocalTrainer;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.train.TrainingListener;
import io.gradflow.common.wire.PushPrecision;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
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

  @Option(names = "--threads", paramLabel = "T", description = "Threads computing micro-shards in each process (the single-process trainer or each worker); the weights are the same bits for any count (default: ${DEFAULT-VALUE}).")
  int threads = 1;

  @Option(names = "--push-jitter-ms", paramLabel = "MAX", description = "Delay each worker push by a random 0..MAX ms (rehearses stragglers and arrival order; default: ${DEFAULT-VALUE}).")
  long pushJitterMs = 0;

  @Option(names = "--fault", paramLabel = "SPEC", description = "Inject a failure to rehearse recovery: " + FaultSpec.FORMS + " (repeatable).")
  List<String> faults = new java.util.ArrayList<>();

  @Option(names = "--max-restarts", paramLabel = "N", description = "Replace dead workers and restart a dead server up to N times in all (default: ${DEFAULT-VALUE}).")
  int maxRestarts = 3;

  @Option(names = "--min-workers", paramLabel = "K", description = "Below K live workers the job pauses and waits (default: ${DEFAULT-VALUE}).")
  int minWorkers = 1;

  @Option(names = "--backup-workers", paramLabel = "K", description = "Extra copies of unfinished micro-shards for idle workers (default: ${DEFAULT-VALUE}).")
  int backupWorkers = 0;

  @Option(names = "--worker-timeout", paramLabel = "SECONDS", description = "A silent worker is declared lost after this long (default: ${DEFAULT-VALUE}).")
  double workerTimeoutSeconds = 5;

  @Option(names = "--checkpoint-every", paramLabel = "STEPS", description = "Checkpoint every STEPS steps and at the end, in OUT/checkpoints (default: ${DEFAULT-VALUE}).")
  long checkpointEvery = 100;

  @Option(names = "--secure", description = "Run the worker processes' job with mutual TLS and a job token, from a CA, certificates and a token generated in OUT/secure/.")
  boolean secure;

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
    if (threads < 1) {
      throw new ParameterException(spec.commandLine(), "--threads must be at least 1, got " + threads);
    }
    if (workers < 0) {
      throw new ParameterException(spec.commandLine(), "--workers must be >= 0, got " + workers);
    }
    if (secure && workers == 0) {
      throw new ParameterException(spec.commandLine(), "--secure needs worker processes (--workers N, N >= 1): a single-process job has no network to secure");
    }
    if (workers == 0 && ssh.hosts == null && job.trainingConfig().pushPrecision() != PushPrecision.FP32) {
      throw new ParameterException(spec.commandLine(), "--push-precision " + job.pushPrecision
          + " needs worker processes (--workers N, N >= 1): a single-process job has no wire and sums exactly");
    }
    Path dir = out != null ? out : defaultOutDir();
    ProgressDisplay progress =
        new ProgressDisplay(spec.commandLine().getOut(), Terminal.isInteractive(), progressSeconds);
    if (ssh.hosts != null) {
      ssh.launch(job, modelSpec, dir, progress, List.of("--log-every", Integer.toString(logEvery)),
          pushJitterMs > 0 ? List.of("--push-jitter-ms", Long.toString(pushJitterMs)) : List.of());
      spec.commandLine().getOut().println("wrote " + dir.resolve("model.gfm") + ", " + dir.resolve("summary.json"));
      return ExitCode.OK.code();
    }
    if (workers > 0) {
      TrainingConfig config = job.trainingConfig();
      if (workers > config.microShards()) {
        throw new ParameterException(spec.commandLine(),
            "--workers " + workers + " exceeds --micro-shards " + config.microShards() + ": raise --micro-shards to at least the worker count");
      }
      List<FaultSpec> faultSpecs = new ArrayList<>();
      try {
        for (String f : faults) {
          faultSpecs.add(FaultSpec.parse(f));
        }
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage());
      }
      List<String> serverArgs = new ArrayList<>(List.of("--log-every", Integer.toString(logEvery),
          "--min-workers", Integer.toString(minWorkers), "--backup-workers", Integer.toString(backupWorkers),
          "--worker-timeout", Double.toString(workerTimeoutSeconds),
          "--checkpoint-every", Long.toString(checkpointEvery)));
      List<String> workerArgs = new ArrayList<>(
          pushJitterMs > 0 ? List.of("--push-jitter-ms", Long.toString(pushJitterMs)) : List.of());
      workerArgs.addAll(List.of("--threads", Integer.toString(threads)));
      if (secure) {
        SecureJobFiles files = SecureJobFiles.create(dir.resolve("secure"));
        serverArgs.addAll(files.serverArgs());
        workerArgs.addAll(files.workerArgs());
      }
      LocalLauncher.Settings settings = new LocalLauncher.Settings(workers, maxRestarts, faultSpecs, serverArgs, workerArgs);
      new LocalLauncher(job, modelSpec, config, settings, dir, progress).run();
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
    LocalTrainer trainer = new LocalTrainer(net, config, data, threads);
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
