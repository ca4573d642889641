package io.gradflow.cli;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.train.TrainingListener;
import io.gradflow.metrics.JobMetrics;
import io.gradflow.metrics.MetricsEndpoint;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gradflow train}: a training job, single-process or with N local worker processes. */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    description = "Train a network and write model.gfm, metrics.jsonl and summary.json to --out.")
final class TrainCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin JobOptions job;

  @Mixin OutDirOption out;

  @Mixin ReportOptions report;

  @Mixin RecoveryOptions recovery;

  @Mixin WorkerOptions compute;

  @Mixin SshOptions ssh;

  @Mixin SharedMemoryOption sharedMemory;

  @Mixin MetricsOption metrics;

  @Option(
      names = "--workers",
      paramLabel = "N",
      description = "Worker processes on this machine, plus one parameter server; 0 trains in this process (default: ${DEFAULT-VALUE}).")
  int workers = 2;

  @Option(
      names = "--servers",
      paramLabel = "S",
      description = "Parameter server processes: the flattened parameters are cut into S contiguous ranges balanced by bytes, one per server; server 0 also coordinates the job. The result is the same bits for any S (default: ${DEFAULT-VALUE}).")
  int servers = 1;

  @Option(names = "--fault", paramLabel = "SPEC", description = "Inject a failure to rehearse recovery: " + FaultSpec.FORMS + " (repeatable).")
  List<String> faults = new ArrayList<>();

  @Option(names = "--max-restarts", paramLabel = "N", description = "Replace dead workers and restart a dead server up to N times in all (default: ${DEFAULT-VALUE}).")
  int maxRestarts = 3;

  @Option(names = "--unix-socket", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "The local workers reach the server through a Unix domain socket (Linux) instead of loopback TCP; not with --secure, whose TLS needs TCP (default: on).")
  boolean unixSocket = true;

  @Option(names = "--secure", description = "Run the job's servers and worker processes with mutual TLS and a job token, from a CA, certificates and a token generated in OUT/secure/ (with --hosts, the server certificate names --server-host and the listed hosts, and each remote process gets its files through its ssh connection).")
  boolean secure;

  @Option(names = "--report", description = "At the end, write OUT/report.html: the charts and tables of 'gradflow report OUT'.")
  boolean writeReport;

  /**
   * The options that only act on worker processes and make no sense without them: given with
   * --workers 0, a usage error. The recovery settings (--worker-timeout, --checkpoint-every,
   * --min-workers, ...) are checked for range but allowed: the same command line with --workers 0
   * is the single-process baseline a distributed job is compared with.
   */
  private static final List<String> WORKER_PROCESS_OPTIONS = List.of("--fault");

  @Override
  public Integer call() throws Exception {
    return out.refusedLeavesNothing(this::run);
  }

  private Integer run() throws IOException, InterruptedException {
    long started = System.nanoTime();
    ModelSpec modelSpec = job.modelSpec();
    compute.check();
    if (workers < 0) {
      throw CommandFailure.usage("--workers must be >= 0, got " + workers);
    }
    recovery.check();
    report.check();
    ssh.check();
    if (maxRestarts < 0) {
      throw CommandFailure.usage("--max-restarts " + maxRestarts + ": expected 0 or more");
    }
    List<FaultSpec> faultSpecs = FaultSpec.parseAll(faults);
    if (!ssh.selected() && spec.commandLine().getParseResult().hasMatchedOption("--server-port")) {
      throw CommandFailure.usage("--server-port needs --hosts: a local job's server listens on a free port and its Unix socket");
    }
    if (workers == 0 && !ssh.selected()) {
      for (String option : WORKER_PROCESS_OPTIONS) {
        if (spec.commandLine().getParseResult().hasMatchedOption(option)) {
          throw CommandFailure.usage(option + " needs worker processes (--workers N, N >= 1): a single-process job has no server or workers to apply it to");
        }
      }
    }
    if (compute.pushThread != null && workers == 0) {
      throw CommandFailure.usage("--" + (compute.pushThread ? "" : "no-") + "push-thread needs worker processes (--workers N, N >= 1): a single process has no pushes");
    }
    if (secure && workers == 0 && !ssh.selected()) {
      throw CommandFailure.usage("--secure needs worker processes (--workers N, N >= 1): a single-process job has no network to secure");
    }
    if (!ssh.selected()) {
      job.push.requireWorkersFor(workers);
    }
    TrainingConfig config = job.trainingConfig();
    checkServers(modelSpec);
    SshLauncher.Settings remote = ssh.selected() ? ssh.settings(servers, config.microShards()) : null;
    Path dir = out.prepared(null);
    ProgressDisplay progress = report.display();
    if (ssh.selected()) {
      SshLauncher launcher = new SshLauncher(launch(modelSpec, config, dir, progress, List.of(), compute.toArgs()), remote);
      if (secure) {
        List<String> serverHosts = SshLauncher.serverHosts(remote);
        for (String host : serverHosts) {
          SecureJobFiles.checkHost("--secure: the server host", host);
        }
        launcher.secure(SecureJobFiles.create(dir.resolve("secure"), serverHosts));
      }
      launcher.run();
    } else if (workers > 0) {
      launchLocal(modelSpec, config, dir, progress, faultSpecs);
    } else {
      JobMetrics jobMetrics = metrics.metrics(dir);
      try (MetricsEndpoint scraped = metrics.serve("0.0.0.0", jobMetrics, line -> spec.commandLine().getErr().println("gradflow train: " + line))) {
        SingleProcessJob.loading(modelSpec, config, job.data::load, compute.threads, compute.warmupPasses > 0).run(dir, report.logEvery, started,
            jobMetrics == null ? progress : TrainingListener.all(progress, jobMetrics));
      }
    }
    spec.commandLine().getOut().println("wrote " + dir.resolve("model.gfm") + ", " + dir.resolve("summary.json"));
    if (writeReport) {
      ReportCommand.write(List.of(dir), dir.resolve("report.html"));
      spec.commandLine().getOut().println("wrote " + dir.resolve("report.html"));
    }
    return ExitCode.OK.code();
  }

  /** {@code --servers S}: at least 1; more than one needs worker processes (local or --hosts) and a model with at least S chunks. */
  private void checkServers(ModelSpec modelSpec) {
    if (servers < 1) {
      throw CommandFailure.usage("--servers must be >= 1, got " + servers);
    }
    if (servers == 1) {
      return;
    }
    if (workers == 0) {
      throw CommandFailure.usage("--servers " + servers + " needs worker processes (--workers N, N >= 1): a single-process job has no server");
    }
    ServerCommand.rangesOf(modelSpec, servers);
  }

  private void launchLocal(ModelSpec modelSpec, TrainingConfig config, Path dir, ProgressDisplay progress, List<FaultSpec> faultSpecs)
      throws IOException, InterruptedException {
    LocalLauncher.checkWorkers(workers, config);
    List<String> serverArgs = new ArrayList<>(faultSpecs.isEmpty() ? List.of() : List.of("--events-every-step"));
    List<String> workerArgs = new ArrayList<>(compute.toArgs(workers));
    if (secure) {
      SecureJobFiles files = SecureJobFiles.create(dir.resolve("secure"));
      serverArgs.addAll(files.serverArgs());
      workerArgs.addAll(files.workerArgs());
    }
    new LocalLauncher(launch(modelSpec, config, dir, progress, serverArgs, workerArgs),
        new LocalLauncher.Settings(workers, maxRestarts, faultSpecs, unixSocket && !secure, recovery.minWorkers, servers)).run();
  }

  /**
   * The job for a launcher: these options' server arguments, then {@code serverArgs}; the workers get
   * {@code workerArgs}, which begin with {@link WorkerOptions}'.
   */
  private JobLaunch launch(ModelSpec modelSpec, TrainingConfig config, Path dir, ProgressDisplay progress,
      List<String> serverArgs, List<String> workerArgs) {
    List<String> server = new ArrayList<>(report.toArgs());
    server.addAll(metrics.toArgs());
    server.addAll(recovery.toArgs());
    server.addAll(sharedMemory.toArgs());
    server.addAll(serverArgs);
    return new JobLaunch(modelSpec, config, job.data.dataDir, dir, progress, server, workerArgs);
  }
}
