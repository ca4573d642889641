package io.gradflow.cli;

import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.checkpoint.Checkpoint;
import io.gradflow.common.checkpoint.CheckpointStore;
import io.gradflow.common.model.ModelFileException;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.ModelSpecs;
import io.gradflow.common.wire.JobFingerprint;
import io.gradflow.common.model.Network;
import io.gradflow.common.report.JobRecorder;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.train.TrainingListener;
import io.gradflow.ps.ParameterServer;
import io.gradflow.ps.ServerJob;
import io.gradflow.ps.ServerPolicy;
import io.gradflow.ps.StepTimings;
import io.gradflow.common.report.RunTiming;
import io.gradflow.ps.TokenAuthInterceptor;
import io.grpc.ServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code gradflow server}: the parameter server of a job whose workers run elsewhere. */
@Command(
    name = "server",
    mixinStandardHelpOptions = true,
    description = "Run the parameter server of a synchronous data-parallel job; workers join with 'gradflow worker --server HOST:PORT'.")
final class ServerCommand implements Callable<Integer> {
  /**
   * HTTP/2 flow-control window of every connection: a step moves a whole model each way, so a
   * window of several models' bytes keeps the sender from stalling on window updates.
   */
  static final int TRANSPORT_WINDOW_BYTES = 32 << 20;

  /**
   * Kernel socket buffers of every connection: large enough for a whole model, so a push or the
   * weights go out in one write instead of trickling through a 16 KiB buffer that needs the peer
   * to be scheduled between rounds (the kernel caps it at net.core.wmem_max / rmem_max).
   */
  static final int SOCKET_BUFFER_BYTES = 4 << 20;

  @Spec CommandSpec spec;

  @Mixin JobOptions job;

  @Option(names = "--port", paramLabel = "P", description = "Port to listen on; 0 picks a free one (default: ${DEFAULT-VALUE}).")
  int port = 7070;

  @Option(names = "--bind", paramLabel = "ADDR", description = "Address to listen on (default: ${DEFAULT-VALUE}, all interfaces).")
  String bind = "0.0.0.0";

  @Option(names = "--workers", paramLabel = "N", description = "Workers the job waits for before its first step (default: ${DEFAULT-VALUE}).")
  int workers = 1;

  @Option(names = "--out", paramLabel = "DIR", description = "Output directory for model.gfm, metrics.jsonl, summary.json (default: runs/server-<time>).")
  Path out;

  @Option(names = "--log-every", paramLabel = "STEPS", description = "Write a metrics record every STEPS steps (default: ${DEFAULT-VALUE}).")
  int logEvery = 10;

  @Option(names = "--progress-seconds", paramLabel = "S", description = "When output is not a terminal, print a progress line at most every S seconds (default: ${DEFAULT-VALUE}).")
  double progressSeconds = 10;

  @Option(names = "--min-workers", paramLabel = "K", description = "Below K live workers the job pauses and waits for joiners (default: ${DEFAULT-VALUE}).")
  int minWorkers = 1;

  @Option(names = "--backup-workers", paramLabel = "K", description = "Hand up to K extra copies of unfinished micro-shards to idle workers, so a straggler does not hold a step (default: ${DEFAULT-VALUE}).")
  int backupWorkers = 0;

  @Option(names = "--worker-timeout", paramLabel = "SECONDS", description = "A worker silent this long (no heartbeat) is declared lost and its micro-shards reassigned (default: ${DEFAULT-VALUE}).")
  double workerTimeoutSeconds = 5;

  @Option(names = "--checkpoint-every", paramLabel = "STEPS", description = "Write a checkpoint every STEPS steps, and at the end (0: only at the end; default: ${DEFAULT-VALUE}).")
  long checkpointEvery = 100;

  @Option(names = "--keep-checkpoints", paramLabel = "K", description = "Keep the newest K checkpoints (default: ${DEFAULT-VALUE}).")
  int keepCheckpoints = 3;

  @Option(names = "--resume", paramLabel = "DIR", description = "Continue the job of the newest valid checkpoint in DIR (an --out directory or its checkpoints/); a corrupt newest one falls back to the one before.")
  Path resume;

  @Option(names = "--port-file", paramLabel = "FILE", description = "Write the port actually listened on to FILE once serving.")
  Path portFile;

  @Option(names = "--tls-cert", paramLabel = "PEM", description = "Serve TLS with this certificate chain (PEM); needs --tls-key.")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "PEM", description = "The private key of --tls-cert (unencrypted PKCS#8 PEM).")
  Path tlsKey;

  @Option(names = "--tls-ca", paramLabel = "PEM", description = "Mutual TLS: accept only workers whose certificate one of these CAs (PEM) signed.")
  Path tlsCa;

  @Option(names = "--token-file", paramLabel = "FILE", description = "Refuse every call that does not carry the job token in FILE (UNAUTHENTICATED).")
  Path tokenFile;

  @Option(names = "--events", hidden = true, description = "Print progress as event lines for the launcher.")
  boolean events;

  @Option(names = "--parent-pid", hidden = true, description = "Exit when this process is gone (set by the launcher).")
  long parentPid;

  @Override
  public Integer call() throws IOException, InterruptedException {
    long started = System.nanoTime();
    ParentWatch.start(parentPid);
    PrintWriter log = spec.commandLine().getErr();
    ServerCredentials credentials = credentials();
    String token = tokenFile == null ? null : JobSecurity.readToken(tokenFile, line -> say(log, line));
    Path dir = out != null ? out : resume != null ? resume : Path.of("runs", "server-" + TrainCommand.timestamp());
    Checkpoint checkpoint = resume != null ? newestCheckpoint(resume, log) : null;
    ModelSpec modelSpec = checkpoint != null ? checkpoint.network().spec() : job.modelSpec();
    TrainingConfig config = checkpoint != null ? checkpoint.config() : job.trainingConfig();
    if (checkpoint != null) {
      checkSameJob(checkpoint);
    }
    TrainTestSplit data = Datasets.load(config.dataset(), job.dataDir, spec);
    if (config.batch() > data.train().count()) {
      throw new ParameterException(spec.commandLine(),
          "--batch " + config.batch() + " is larger than the training set (" + data.train().count() + " rows)");
    }
    ServerJob serverJob;
    ServerPolicy policy;
    try {
      serverJob = checkpoint != null
          ? ServerJob.resume(checkpoint, data, workers)
          : new ServerJob(Network.initialize(modelSpec), config, data, workers);
      policy = new ServerPolicy(minWorkers, backupWorkers, (long) (workerTimeoutSeconds * 1000), checkpointEvery,
          new CheckpointStore(dir.resolve("checkpoints"), keepCheckpoints, w -> {
            log.println("gradflow server: WARNING: " + w);
            log.flush();
          }));
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    try (JobRecorder recorder = new JobRecorder(dir, logEvery, started, checkpoint != null)) {
      TrainingListener display =
          events
              ? EventStream.writer(new PrintStream(System.out, true, StandardCharsets.UTF_8))
              : new ProgressDisplay(spec.commandLine().getOut(), Terminal.isInteractive(), progressSeconds);
      NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(bind, port), credentials)
          .maxInboundMessageSize(4 << 20)
          .flowControlWindow(TRANSPORT_WINDOW_BYTES)
          .withChildOption(ChannelOption.SO_SNDBUF, SOCKET_BUFFER_BYTES)
          .withChildOption(ChannelOption.SO_RCVBUF, SOCKET_BUFFER_BYTES)
          // Handlers never block (a pull waits without a thread), so they run on the transport's
          // threads: no hand-off to an executor per message on the step's critical path.
          .directExecutor();
      if (token != null) {
        builder.intercept(new TokenAuthInterceptor(token, line -> say(log, line)));
      }
      ParameterServer server = new ParameterServer(builder, serverJob, policy, TrainingListener.all(recorder, display));
      try {
        server.start();
      } catch (IOException e) {
        throw new CommandFailure(ExitCode.UNAVAILABLE, "cannot listen on " + bind + ":" + port + ": " + e.getMessage());
      }
      log.println("gradflow server: listening on " + bind + ":" + server.port() + ", waiting for " + workers
          + " worker(s); job fingerprint " + server.coordinator().fingerprint().substring(0, 12));
      log.flush();
      for (String warning : warnings(bind + ":" + server.port(), JobSecurity.isLoopback(bind), tlsCert != null, token != null)) {
        say(log, warning);
      }
      if (portFile != null) {
        Path tmp = portFile.resolveSibling(portFile.getFileName() + ".tmp");
        Files.writeString(tmp, Integer.toString(server.port()));
        Files.move(tmp, portFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      }
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try {
          server.stop();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }));
      String failure = server.awaitJob(10_000);
      server.stop();
      if (failure == null) {
        writeTiming(dir, server, serverJob);
      }
      if (failure != null) {
        throw new CommandFailure(ExitCode.FAILED, "job failed: " + failure);
      }
    }
    spec.commandLine().getOut().println("wrote " + dir.resolve("model.gfm") + ", " + dir.resolve("summary.json"));
    return ExitCode.OK.code();
  }

  /** Writes {@code timing.json}: the per-step time split and the bytes on the wire. */
  private static void writeTiming(Path dir, ParameterServer server, ServerJob job) {
    StepTimings.Split split = server.coordinator().timingSplit();
    long steps = Math.max(1, server.coordinator().step() - (job.resumeFrom() == null ? 0 : job.resumeFrom().step()));
    long parameterBytes = 4 * job.network().spec().parameterCount();
    double perWorkerStep = (double) (server.wire().inboundBytes() + server.wire().outboundBytes()) / (steps * job.workers());
    new RunTiming(
        split.steps(),
        split.measuredSeconds(),
        split.computeMillis(),
        split.pushMillis(),
        split.waitMillis(),
        split.weightsBackMillis(),
        split.serverReduceMillis(),
        split.serverUpdateMillis(),
        server.wire().inboundBytes(),
        server.wire().outboundBytes(),
        perWorkerStep,
        parameterBytes,
        perWorkerStep / parameterBytes).write(RunTiming.file(dir));
  }

  /** The newest valid checkpoint under {@code dir} (or {@code dir/checkpoints}); none is an error. */
  private Checkpoint newestCheckpoint(Path dir, PrintWriter log) {
    Path ckpts = java.nio.file.Files.isDirectory(dir.resolve("checkpoints")) ? dir.resolve("checkpoints") : dir;
    CheckpointStore store = new CheckpointStore(ckpts, Math.max(1, keepCheckpoints), w -> {
      log.println("gradflow server: WARNING: " + w + "; falling back to an older checkpoint");
      log.flush();
    });
    Checkpoint c = store.loadNewestValid().orElseThrow(() -> new ModelFileException(
        ckpts + ": no valid checkpoint (ckpt-<step>.gfc) to resume from"));
    log.println("gradflow server: resuming from " + store.fileFor(c.step()) + " at step " + (c.step() + 1));
    log.flush();
    return c;
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
      throw new ParameterException(spec.commandLine(),
          "--resume: the checkpoint's job differs from the options given: "
              + String.join("; ", diffs).replace("(server)", "(checkpoint)").replace("(worker)", "(options)"));
    }
  }

  /** Plaintext, TLS (--tls-cert, --tls-key) or mutual TLS (and --tls-ca); checks the files first. */
  private ServerCredentials credentials() {
    if ((tlsCert == null) != (tlsKey == null)) {
      throw new ParameterException(spec.commandLine(), "--tls-cert and --tls-key go together: give both or neither");
    }
    if (tlsCa != null && tlsCert == null) {
      throw new ParameterException(spec.commandLine(), "--tls-ca (mutual TLS) needs --tls-cert and --tls-key");
    }
    return JobSecurity.serverCredentials(tlsCert, tlsKey, tlsCa);
  }

  /** The one-line warnings of a server listening on {@code address}: plaintext beyond loopback, no token. */
  static List<String> warnings(String address, boolean loopback, boolean tls, boolean token) {
    List<String> out = new ArrayList<>();
    if (!loopback && !tls) {
      out.add("WARNING: listening on " + address + " beyond loopback without TLS: anyone on the network can read "
          + "and alter the job's traffic (use --tls-cert and --tls-key)");
    }
    if (!token) {
      out.add("WARNING: no --token-file: any client that can reach " + address + " can join or disturb the job");
    }
    return out;
  }

  private static void say(PrintWriter log, String line) {
    log.println("gradflow server: " + line);
    log.flush();
  }
}
