package io.gradflow.cli;

import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.checkpoint.Checkpoint;
import io.gradflow.common.checkpoint.CheckpointStore;
import io.gradflow.common.model.ModelFileException;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.ModelSpecs;
import io.gradflow.common.model.Network;
import io.gradflow.common.report.JobRecorder;
import io.gradflow.common.report.RunSummary;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.train.TrainingListener;
import io.gradflow.common.wire.JobFingerprint;
import io.gradflow.metrics.JobMetrics;
import io.gradflow.metrics.MetricsEndpoint;
import io.gradflow.ps.ServerJob;
import io.gradflow.ps.ServerPolicy;
import io.gradflow.ps.ServerWarmUp;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gradflow server}: the parameter server of a job whose workers run elsewhere. */
@Command(
    name = "server",
    mixinStandardHelpOptions = true,
    description = "Run the parameter server of a synchronous data-parallel job; workers join with 'gradflow worker --server HOST:PORT'.")
final class ServerCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin JobOptions job;

  @Mixin OutDirOption out;

  @Mixin ReportOptions report;

  @Mixin RecoveryOptions recovery;

  @Mixin ServerSecurityOptions security;

  @Mixin ParentPidOption parent;

  @Mixin SharedMemoryOption sharedMemory;

  @Mixin MetricsOption metricsOption;

  @Option(names = "--port", paramLabel = "P", description = "Port to listen on; 0 picks a free one (default: ${DEFAULT-VALUE}).")
  int port = 7070;

  @Option(names = "--bind", paramLabel = "ADDR", description = "Address to listen on (default: ${DEFAULT-VALUE}, all interfaces).")
  String bind = "0.0.0.0";

  @Option(names = "--workers", paramLabel = "N", description = "Workers the job waits for before its first step (default: ${DEFAULT-VALUE}).")
  int workers = 1;

  @Option(names = "--keep-checkpoints", paramLabel = "K", description = "Keep the newest K checkpoints (default: ${DEFAULT-VALUE}).")
  int keepCheckpoints = 3;

  @Option(names = "--resume", paramLabel = "DIR", description = "Continue the job of the newest valid checkpoint in DIR (an --out directory or its checkpoints/); a corrupt newest one falls back to the one before. DIR is a directory: a checkpoint file is a usage error (keep the newer ones out of its directory to resume an older one).")
  Path resume;

  @Option(names = "--resume-if-any", paramLabel = "DIR", description = "Like --resume DIR when DIR (or its checkpoints/) holds a checkpoint file; when it holds none, start the job from the options given. For a server its scheduler restarts with the same command line (a Kubernetes pod).")
  Path resumeIfAny;

  @Option(names = "--unix-socket", paramLabel = "PATH", description = "Also listen on the Unix domain socket PATH, for workers on this host ('gradflow worker --server unix:PATH'); Linux only, no TLS.")
  Path unixSocket;

  @Option(names = "--port-file", paramLabel = "FILE", description = "Write the port actually listened on to FILE once serving.")
  Path portFile;

  @Option(names = "--linger-seconds", paramLabel = "S", description = "After the job ended, keep answering for S seconds, so that a worker that comes late (started after the end, or paused through it) is told the job is over (exit 10) instead of finding nobody (default: ${DEFAULT-VALUE}).")
  double lingerSeconds = 10;

  @Option(names = "--servers", paramLabel = "S", description = "Sharded servers: the job's parameters are cut into S ranges, one per server (see train --servers); this is server --server-index of them (default: ${DEFAULT-VALUE}).")
  int servers = 1;

  @Option(names = "--server-index", paramLabel = "I", description = "With --servers S: which server this is, 0 (the coordinator: membership, the step plan, the outputs; range 0) or 1..S-1 (a follower that owns range I) (default: ${DEFAULT-VALUE}).")
  int serverIndex = 0;

  @Option(names = "--range-server", paramLabel = "ADDR", description = "The coordinator of a job with --servers S: the address (HOST:PORT or unix:PATH) of server i for i = 1..S-1, in order (repeatable); it reads their ranges for evaluations, checkpoints and the final model.")
  List<String> rangeServers = new ArrayList<>();

  @Option(names = "--events", hidden = true, description = "Print progress as event lines for the launcher.")
  boolean events;

  @Option(names = "--events-every-step", hidden = true, description = "With --events: a line for every step (a launcher that injects faults at given steps), not at most one per 100 ms.")
  boolean eventsEveryStep;

  @Override
  public Integer call() throws Exception {
    return out.refusedLeavesNothing(this::run);
  }

  private Integer run() throws IOException, InterruptedException {
    long started = System.nanoTime();
    if (port < 0 || port > 65_535) {
      throw CommandFailure.usage("--port " + port + " is not a port: expected 0..65535 (0 picks a free one)");
    }
    if (new java.net.InetSocketAddress(bind, 0).isUnresolved()) {
      throw CommandFailure.usage("--bind " + bind + ": no such address or host name (expected an address of this host, e.g. 0.0.0.0)");
    }
    recovery.check();
    report.check();
    if (!(lingerSeconds >= 0)) {
      throw CommandFailure.usage("--linger-seconds " + lingerSeconds + ": expected 0 or more seconds");
    }
    parent.watch();
    if (portFile != null) {
      OutputPaths.file("--port-file", portFile);
    }
    ServerRun.Endpoint endpoint = new ServerRun.Endpoint(bind, port, security.credentials(), security.tlsCert != null,
        security.token(this::say), portFile, sharedMemory.enabled ? SharedMemoryOption.ROOT : null, unixSocket);
    security.checkSharded(servers, serverIndex, rangeServers);
    if (unixSocket != null && !Transport.unixSocketsAvailable()) {
      throw CommandFailure.usage("--unix-socket: this system has no Unix domain sockets for gRPC (Netty's epoll transport, Linux only)");
    }
    if (resume != null && resumeIfAny != null) {
      throw CommandFailure.usage("--resume and --resume-if-any go alone: give one of them");
    }
    if (resume != null && !Files.exists(resume)) {
      throw CommandFailure.usage("--resume " + resume + ": no such directory (expected an --out directory or its "
          + "checkpoints/; --resume-if-any starts the job when there is none)");
    }
    for (String option : List.of("--resume", "--resume-if-any")) {
      Path given = option.equals("--resume") ? resume : resumeIfAny;
      if (given != null && Files.isRegularFile(given)) {
        throw CommandFailure.usage(option + " " + given + " is a file: expected a directory (an --out directory or its "
            + "checkpoints/), whose newest valid checkpoint is resumed");
      }
    }
    if (resumeIfAny != null) {
      if (hasCheckpointFiles(resumeIfAny)) {
        resume = resumeIfAny;
      } else {
        say("no checkpoint in " + resumeIfAny + " yet: starting the job at step 1");
      }
    }
    Path dir = out.prepared(resume != null ? resume : resumeIfAny);
    Checkpoint checkpoint = resume != null ? newestCheckpoint(resume) : null;
    ModelSpec modelSpec = checkpoint != null ? checkpoint.network().spec() : job.modelSpec();
    TrainingConfig config = checkpoint != null ? checkpoint.config() : job.trainingConfig();
    if (checkpoint != null) {
      checkSameJob(checkpoint);
    }
    if (serverIndex == 0) { // while the data loads, on a core a server starting alone leaves idle
      ServerWarmUp.start(modelSpec, config);
    }
    TrainTestSplit data = job.data.load(config.dataset());
    if (config.batch() > data.train().count()) {
      throw CommandFailure.usage(
          "--batch " + config.batch() + " is larger than the training set (" + data.train().count() + " rows)");
    }
    ModelDataMatch.checkOption(modelSpec, data);
    if (checkpoint != null && serverIndex == 0 && finishedAlready(checkpoint, config, data, dir)) {
      say("the job finished already: " + RunSummary.file(dir) + " holds its " + checkpoint.step()
          + " steps and the checkpoint's weights; nothing to resume, nothing written");
      return ExitCode.OK.code();
    }
    List<io.gradflow.common.wire.ParameterRange> ranges = checkServers(modelSpec);
    ServerJob serverJob;
    ServerPolicy policy;
    try {
      serverJob = checkpoint != null
          ? ServerJob.resume(checkpoint, data, workers)
          : new ServerJob(Network.initialize(modelSpec), config, data, workers);
      policy = new ServerPolicy(recovery.minWorkers, recovery.backupWorkers, recovery.workerTimeoutMillis(),
          recovery.checkpointEvery, new CheckpointStore(dir.resolve("checkpoints"), keepCheckpoints, w -> say("WARNING: " + w)));
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage(e.getMessage());
    }
    if (serverIndex > 0) {
      new FollowerRun(serverJob, ranges.get(serverIndex), serverIndex, recovery.checkpointEvery, endpoint, this::say).run();
      return ExitCode.OK.code();
    }
    JobMetrics metrics = metricsOption.metrics(dir);
    try (JobRecorder recorder = new JobRecorder(dir, report.logEvery, started, checkpoint != null);
        MetricsEndpoint scraped = metricsOption.serve(bind, metrics, this::say)) {
      recorder.inputScaling(data.scaling()).evaluationOverlapsTraining();
      TrainingListener display = events
          ? EventStream.writer(new PrintStream(System.out, true, StandardCharsets.UTF_8),
              eventsEveryStep ? 0 : EventStream.STEP_INTERVAL_NANOS)
          : report.display();
      TrainingListener listener = metrics == null
          ? TrainingListener.all(recorder, display)
          : TrainingListener.all(recorder, display, metrics);
      new ServerRun(serverJob, policy, endpoint, Duration.ofMillis((long) (lingerSeconds * 1000)), this::say)
          .metrics(metrics).loopsWarmedUp().shard(ranges, rangeServers, security.followerCredentials(endpoint.token())).run(listener, dir);
    }
    spec.commandLine().getOut().println("wrote " + dir.resolve("model.gfm") + ", " + dir.resolve("summary.json"));
    return ExitCode.OK.code();
  }

  /**
   * Checks {@code --servers}, {@code --server-index} and {@code --range-server}; returns the ranges
   * of the servers (one, the whole model, with one server).
   */
  private List<io.gradflow.common.wire.ParameterRange> checkServers(ModelSpec modelSpec) {
    if (servers < 1) {
      throw CommandFailure.usage("--servers " + servers + ": expected at least 1");
    }
    if (serverIndex < 0 || serverIndex >= servers) {
      throw CommandFailure.usage("--server-index " + serverIndex + ": expected 0.." + (servers - 1) + " with --servers " + servers);
    }
    if (serverIndex == 0 && rangeServers.size() != servers - 1) {
      throw CommandFailure.usage("--servers " + servers + ": the coordinator needs " + (servers - 1)
          + " --range-server address(es), one per follower, got " + rangeServers.size());
    }
    if (serverIndex > 0 && !rangeServers.isEmpty()) {
      throw CommandFailure.usage("--range-server: only the coordinator (--server-index 0) reads the other servers");
    }
    return rangesOf(modelSpec, servers);
  }

  /** The ranges of {@code servers} sharded servers for the model, or a usage error naming S and the model when it is too small. */
  static List<io.gradflow.common.wire.ParameterRange> rangesOf(ModelSpec modelSpec, int servers) {
    try {
      return io.gradflow.common.wire.ParameterRanges.split(new Network(modelSpec).tensorLengths(), servers);
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage("--servers " + servers + ": model " + modelSpec.sizesText() + " is too small to shard: " + e.getMessage());
    }
  }

  /** The newest valid checkpoint under {@code dir} (or {@code dir/checkpoints}); none is an error. */
  private Checkpoint newestCheckpoint(Path dir) {
    Path ckpts = Files.isDirectory(dir.resolve("checkpoints")) ? dir.resolve("checkpoints") : dir;
    CheckpointStore store = new CheckpointStore(ckpts, Math.max(1, keepCheckpoints),
        w -> say("WARNING: " + w + "; falling back to an older checkpoint"));
    Checkpoint c = store.loadNewestValid().orElseThrow(() -> new ModelFileException(
        ckpts + ": no valid checkpoint (ckpt-<step>.gfc) to resume from"));
    say("resuming from " + store.fileFor(c.step()) + " at step " + (c.step() + 1));
    return c;
  }

  /** Whether {@code dir} or {@code dir/checkpoints} holds a checkpoint file, valid or not. */
  private static boolean hasCheckpointFiles(Path dir) throws IOException {
    for (Path d : new Path[] {dir.resolve("checkpoints"), dir}) {
      if (Files.isDirectory(d)) {
        try (var files = Files.newDirectoryStream(d, "ckpt-*.gfc")) {
          if (files.iterator().hasNext()) {
            return true;
          }
        }
      }
    }
    return false;
  }

  /**
   * True when {@code checkpoint} is the job's last step and {@code dir} holds that job's outputs
   * already (a summary of as many steps with the checkpoint's weights): a server restarted after
   * its job ended (a pod's container, {@code --resume-if-any}) leaves them as they are. Without
   * them, the server writes the final outputs from the checkpoint as a resumed job does.
   */
  private static boolean finishedAlready(Checkpoint checkpoint, TrainingConfig config, TrainTestSplit data, Path dir) {
    long total = config.totalSteps(data.train().count());
    Path summary = RunSummary.file(dir);
    if (checkpoint.step() < total || !Files.isRegularFile(summary) || !Files.isRegularFile(dir.resolve("model.gfm"))) {
      return false;
    }
    try {
      RunSummary done = RunSummary.read(summary);
      return done.steps() == checkpoint.step() && checkpoint.network().sha256().equals(done.weightsSha256());
    } catch (RuntimeException e) {
      return false; // not a summary to keep: the resumed job writes a new one
    }
  }

  /** Job options given explicitly with --resume must agree with the checkpoint's job. */
  private void checkSameJob(Checkpoint c) {
    if (!job.givenExplicitly()) {
      return;
    }
    var diffs = JobFingerprint.differences(
        ModelSpecs.toProto(c.network().spec()), c.config().toProto(),
        ModelSpecs.toProto(job.modelSpec()), job.trainingConfig().toProto());
    if (!diffs.isEmpty()) {
      throw CommandFailure.usage("--resume: the checkpoint's job differs from the options given: "
          + String.join("; ", diffs).replace("(server)", "(checkpoint)").replace("(worker)", "(options)"));
    }
  }

  private void say(String line) {
    PrintWriter log = spec.commandLine().getErr();
    log.println("gradflow server: " + line);
    log.flush();
  }
}
