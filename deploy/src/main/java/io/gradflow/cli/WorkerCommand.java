package io.gradflow.cli;

import io.gradflow.common.data.DatasetLoader;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.proto.JoinRequest;
import io.gradflow.worker.Worker;
import io.gradflow.worker.WorkerFailure;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gradflow worker}: joins a parameter server and computes its micro-shards until the job ends. */
@Command(
    name = "worker",
    mixinStandardHelpOptions = true,
    description = "Join a parameter server and train on this worker's micro-shards until the job ends. "
        + "Job options given here (--model, --lr, ...) are checked against the server's job; without them the server's job is taken as is.")
final class WorkerCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin JobOptions job;

  @Mixin WorkerOptions compute;

  @Mixin WorkerSecurityOptions security;

  @Mixin ParentPidOption parent;

  @Option(names = "--server", required = true, paramLabel = "HOST:PORT", description = "The parameter server: HOST:PORT, or unix:PATH for its Unix domain socket on this host (see server --unix-socket).")
  String server;

  @Option(names = "--name", paramLabel = "NAME", description = "Name in the server's log (default: host/pid).")
  String name;

  @Option(names = "--rpc-timeout", paramLabel = "SECONDS", description = "Deadline of every call to the server (default: ${DEFAULT-VALUE}).")
  double rpcTimeoutSeconds = 60;

  @Option(names = "--reconnect-seconds", paramLabel = "S", description = "While the server is unreachable, retry with exponential backoff for up to S seconds (default: ${DEFAULT-VALUE}).")
  double reconnectSeconds = 60;

  @Option(names = "--heartbeat-ms", paramLabel = "MS", description = "Send a heartbeat every MS milliseconds (default: ${DEFAULT-VALUE}).")
  long heartbeatMs = 500;

  @Option(names = "--push-delay-ms", paramLabel = "MS", description = "Delay each push by MS ms (rehearses a straggler; default: ${DEFAULT-VALUE}).")
  long pushDelayMs = 0;

  @Option(names = "--range-server", paramLabel = "ADDR", description = "A job with sharded servers (train --servers S): the address (HOST:PORT or unix:PATH) of server i for i = 1..S-1, in order (repeatable); --server is server 0, the coordinator.")
  java.util.List<String> rangeServers = new java.util.ArrayList<>();

  private static final String UNIX_PREFIX = "unix:";

  /** The channel of {@code --server unix:PATH}: the server's Unix domain socket on this host. */
  private NettyChannelBuilder unixChannel(String server, Consumer<String> log, EventLoops loops) {
    Path socket = Path.of(server.substring(UNIX_PREFIX.length()).replaceFirst("^//", ""));
    if (!Transport.unixSocketsAvailable()) {
      throw CommandFailure.usage("--server " + server + ": this system has no Unix domain sockets for gRPC (Netty's epoll transport, Linux only)");
    }
    if (security.tlsCa != null) {
      throw CommandFailure.usage("--server " + server + ": a Unix domain socket carries no TLS; drop --tls-ca or use HOST:PORT");
    }
    return Transport.unixChannel(socket, security.credentials(new HostPort("localhost", 1), log), loops);
  }

  @Override
  public Integer call() throws Exception {
    parent.watch();
    PrintWriter err = spec.commandLine().getErr();
    Consumer<String> log = line -> {
      err.println("gradflow worker: " + line);
      err.flush();
    };
    compute.check();
    checkTimings();
    job.trainingConfig(); // a bad value given here is a usage error before the server is called
    if (job.given().contains("--model")) {
      job.modelSpec();
    }
    try (EventLoops loops = new EventLoops()) {
      return work(log, loops);
    }
  }

  /** {@link #call} with the channels' threads made by {@code loops}. */
  private int work(Consumer<String> log, EventLoops loops) throws InterruptedException {
    NettyChannelBuilder channelBuilder = channelTo("--server", server, log, loops);
    String workerName = name != null ? name : localHostName() + "/" + ProcessHandle.current().pid();
    Worker.Options options = new Worker.Options(
        workerName,
        JoinRequest.getDefaultInstance(), // takes the server's job; checkGivenOptions compares the options given
        config -> DatasetLoader.fromSystem(job.data.dataDir).loadTrain(config.dataset()),
        Duration.ofMillis((long) (rpcTimeoutSeconds * 1000)),
        () -> pushDelayMs + (compute.pushJitterMs > 0 ? ThreadLocalRandom.current().nextLong(compute.pushJitterMs + 1) : 0),
        log,
        Duration.ofMillis((long) (reconnectSeconds * 1000)),
        Duration.ofMillis(heartbeatMs),
        compute.threads,
        compute.warmupPasses,
        compute.pushThreadFor(1));
    ManagedChannel channel = channelBuilder.build();
    java.util.List<ManagedChannel> followers = new java.util.ArrayList<>();
    for (String address : rangeServers) {
      followers.add(channelTo("--range-server", address, log, loops).build());
    }
    try {
      Worker.Result r = new Worker(channel, options).rangeServers(java.util.List.copyOf(followers)).jobCheck(this::checkGivenOptions).run();
      log.accept("rank " + r.rank() + " computed " + r.stepsComputed() + " steps; exiting");
      return ExitCode.OK.code();
    } catch (WorkerFailure f) {
      ExitCode code = switch (f.kind()) {
        case UNAVAILABLE -> ExitCode.UNAVAILABLE;
        case REFUSED -> ExitCode.REFUSED;
        case FAILED -> ExitCode.FAILED;
        case JOB_OVER -> ExitCode.JOB_OVER;
      };
      throw new CommandFailure(code,
          io.gradflow.common.wire.TlsFailure.firstLine(f.getMessage()) + security.handshakeFailure(f) + " (server " + server + ")");
    } finally {
      channel.shutdownNow();
      for (ManagedChannel f : followers) {
        f.shutdownNow();
      }
      channel.awaitTermination(5, TimeUnit.SECONDS);
      for (ManagedChannel f : followers) {
        f.awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  /** The channel to a server at {@code address} (HOST:PORT or unix:PATH), given as {@code option}. */
  private NettyChannelBuilder channelTo(String option, String address, Consumer<String> log, EventLoops loops) {
    NettyChannelBuilder channelBuilder;
    if (address.startsWith(UNIX_PREFIX)) {
      channelBuilder = unixChannel(address, log, loops);
    } else {
      HostPort target;
      try {
        target = HostPort.parse(option, address);
      } catch (IllegalArgumentException e) {
        throw CommandFailure.usage(e.getMessage());
      }
      channelBuilder = Transport.channel(target, security.credentials(target, log), loops);
    }
    if (security.tlsServerName != null) {
      channelBuilder.overrideAuthority(security.tlsServerName);
    }
    return channelBuilder;
  }

  /** The deadlines and periods in their ranges: a usage error naming the option and the value otherwise. */
  private void checkTimings() {
    if (!(rpcTimeoutSeconds > 0) || !Double.isFinite(rpcTimeoutSeconds)) {
      throw CommandFailure.usage("--rpc-timeout " + rpcTimeoutSeconds + ": expected a number of seconds > 0");
    }
    if (!(reconnectSeconds >= 0) || !Double.isFinite(reconnectSeconds)) {
      throw CommandFailure.usage("--reconnect-seconds " + reconnectSeconds + ": expected 0 or more seconds");
    }
    if (heartbeatMs < 1) {
      throw CommandFailure.usage("--heartbeat-ms " + heartbeatMs + ": expected 1 or more ms");
    }
    if (pushDelayMs < 0) {
      throw CommandFailure.usage("--push-delay-ms " + pushDelayMs + ": expected 0 or more ms");
    }
  }

  /**
   * The job options given here (--model, --lr, --batch, ...) must agree with the server's job;
   * options not given take the server's values. A difference refuses this worker (exit 7).
   */
  private void checkGivenOptions(ModelSpec serverSpec, TrainingConfig serverJob) {
    java.util.Set<String> given = job.given();
    if (given.isEmpty()) {
      return;
    }
    var diffs = GivenJobOptions.differences(given, serverSpec, serverJob, job);
    if (!diffs.isEmpty()) {
      throw new CommandFailure(ExitCode.REFUSED, "this worker's job differs from the server's: "
          + String.join("; ", diffs) + " (server " + server + ")");
    }
  }

  /**
   * This machine's name, for the worker's default --name; a host name that does not resolve (a
   * container without it in /etc/hosts) is no reason to stop: then $HOSTNAME, or "unknown-host".
   */
  private static String localHostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      String env = System.getenv("HOSTNAME");
      return env == null || env.isBlank() ? "unknown-host" : env;
    }
  }
}
