package io.gradflow.cli;

import io.gradflow.ps.SaveFailure;

import io.gradflow.common.report.AtomicTextFile;
import io.gradflow.common.report.OutputException;
import io.gradflow.common.report.RunTiming;
import io.gradflow.metrics.JobMetrics;
import io.gradflow.metrics.RefusedPushCounter;
import io.gradflow.common.train.TrainingListener;
import io.gradflow.ps.ParameterServer;
import io.gradflow.ps.ServerJob;
import io.gradflow.ps.ServerPolicy;
import io.gradflow.ps.StepTimings;
import io.gradflow.ps.TokenAuthInterceptor;
import io.grpc.ServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/**
 * Runs one parameter server until its job ends: listens, says where and with what security, writes
 * the port file, waits for the job, and on success writes {@code timing.json}. After the job it
 * lingers, still answering, so that a worker that comes late (started after the end, or paused
 * through it) is told that the job is over instead of finding nobody.
 */
final class ServerRun {
  /**
   * Where and how the server listens; {@code token} is null without {@code --token-file}, {@code
   * sharedMemory} (the root of the shared-memory data plane) null with {@code --no-shared-memory}.
   */
  record Endpoint(String bind, int port, ServerCredentials credentials, boolean tls, String token, Path portFile,
      Path sharedMemory, Path unixSocket) {

    /**
     * Why the server could not listen, in the user's terms (exit 6): the port in use, or an address
     * of another host ({@code --bind}); Netty says only "Failed to bind to address".
     */
    CommandFailure cannotListen(IOException e) {
      Throwable deepest = e;
      while (deepest.getCause() != null) {
        deepest = deepest.getCause();
      }
      String reason = deepest.getMessage() == null ? deepest.toString() : deepest.getMessage();
      // the JDK's BindException or the epoll transport's own exception: the system's words either way
      if (reason.contains("Address already in use")) {
        reason = "the port is in use (another server? pick another --port, or 0 for a free one)";
      } else if (reason.contains("Cannot assign requested address")) {
        reason = "--bind " + bind + " is not an address of this host";
      }
      return new CommandFailure(ExitCode.UNAVAILABLE,
          "cannot listen on " + bind + ":" + port + (unixSocket == null ? "" : " and unix:" + unixSocket) + ": " + reason);
    }

    /** {@code builder} refusing every call without the job token (said on {@code log}), when there is one. */
    NettyServerBuilder tokenChecked(NettyServerBuilder builder, Consumer<String> log) {
      if (token != null) {
        builder.intercept(new TokenAuthInterceptor(token, log::accept));
      }
      return builder;
    }

    /** The one-line warnings of a server listening at {@code address} this way (plaintext beyond loopback, no token). */
    List<String> warnings(String address) {
      return ServerSecurityOptions.warnings(address, JobSecurity.isLoopback(bind), tls, token != null);
    }
  }

  private final ServerJob job;
  private final ServerPolicy policy;
  private final Endpoint endpoint;
  private final Duration linger;
  private final Consumer<String> log;
  private JobMetrics metrics;
  private boolean loopsWarmedUp;
  private java.util.List<io.gradflow.common.wire.ParameterRange> ranges = java.util.List.of();
  private java.util.List<String> rangeServers = java.util.List.of();
  private io.grpc.ChannelCredentials followerCredentials;
  private io.gradflow.ps.FollowerClients followerClients;

  /** How long the workers get to leave once the job ended, before the server stops. */
  private static final long LEAVE_GRACE_MILLIS = 10_000;

  /**
   * @param linger how long after the job ended the server keeps answering ({@code --linger-seconds}):
   *     a late worker's join is answered "the job is over" (OUT_OF_RANGE)
   * @param log takes the server's one-line messages (without the {@code gradflow server: } prefix)
   */
  ServerRun(ServerJob job, ServerPolicy policy, Endpoint endpoint, Duration linger, Consumer<String> log) {
    this.job = job;
    this.policy = policy;
    this.endpoint = endpoint;
    this.linger = linger;
    this.log = log;
  }

  /** Counts refused pushes and bytes on the wire into {@code metrics} (null: none). */
  ServerRun metrics(JobMetrics metrics) {
    this.metrics = metrics;
    return this;
  }

  /** The server's loops are warming up already ({@code ServerWarmUp.start}): see {@link ParameterServer#loopsWarmedUp}. */
  ServerRun loopsWarmedUp() {
    this.loopsWarmedUp = true;
    return this;
  }

  /**
   * A job with sharded servers: this server is the coordinator, owns {@code ranges.get(0)} and reads
   * the other ranges from the followers at {@code rangeServers} (HOST:PORT or unix:PATH, server 1
   * first), calling them with {@code credentials} (TLS and the job token as the followers serve
   * them; {@link ServerSecurityOptions#followerCredentials}). One range: nothing changes.
   */
  ServerRun shard(java.util.List<io.gradflow.common.wire.ParameterRange> ranges, java.util.List<String> rangeServers,
      io.grpc.ChannelCredentials credentials) {
    this.ranges = ranges;
    this.rangeServers = rangeServers;
    this.followerCredentials = credentials;
    return this;
  }

  /**
   * Serves the job, reporting to {@code listener}, until it ends; writes {@code dir/timing.json}
   * when it succeeded and throws {@link CommandFailure} when it failed.
   */
  void run(TrainingListener listener, Path dir) throws IOException, InterruptedException {
    try (EventLoops loops = new EventLoops()) {
      serve(listener, dir, loops);
    }
  }

  /** {@link #run} with the listeners' and the followers' channels' threads made by {@code loops}. */
  private void serve(TrainingListener listener, Path dir, EventLoops loops) throws IOException, InterruptedException {
    NettyServerBuilder builder = endpoint.tokenChecked(
        Transport.server(endpoint.bind(), endpoint.port(), endpoint.credentials(), loops), log);
    if (metrics != null) {
      builder.intercept(new RefusedPushCounter(metrics));
    }
    ParameterServer server = new ParameterServer(builder, job, policy, listener);
    if (loopsWarmedUp) {
      server.loopsWarmedUp();
    }
    if (metrics != null) {
      metrics.wire(server.wire()::inboundBytes, server.wire()::outboundBytes);
    }
    java.util.List<io.grpc.ManagedChannel> followers = new java.util.ArrayList<>();
    if (ranges.size() > 1) {
      for (String address : rangeServers) {
        followers.add(channelTo(address, followerCredentials, loops).build());
      }
      followerClients = new io.gradflow.ps.FollowerClients(java.util.List.copyOf(followers), FOLLOWER_PATIENCE_MILLIS);
      server.coordinator().followers().shard(ranges, followerClients);
      log.accept("coordinator of " + ranges.size() + " sharded servers; it owns " + ranges.get(0) + "; seeding the followers");
      try {
        server.coordinator().followers().seedFollowers();
      } catch (IllegalStateException e) {
        throw new CommandFailure(refusedByAFollower(e) ? ExitCode.REFUSED : ExitCode.UNAVAILABLE,
            ServerSecurityOptions.explainedFollowerFailure(e.getMessage()));
      }
    }
    if (endpoint.sharedMemory() != null) {
      server.sharedMemory(endpoint.sharedMemory());
    }
    if (endpoint.unixSocket() != null) {
      NettyServerBuilder local = endpoint.tokenChecked(Transport.unixServer(endpoint.unixSocket(), loops), log);
      if (metrics != null) {
        local.intercept(new RefusedPushCounter(metrics));
      }
      server.alsoListen(local);
    }
    try {
      server.start();
    } catch (IOException e) {
      throw endpoint.cannotListen(e);
    }
    String address = endpoint.bind() + ":" + server.port() + (endpoint.unixSocket() == null ? "" : " and unix:" + endpoint.unixSocket());
    log.accept("listening on " + address + ", waiting for " + job.workers()
        + " worker(s); job fingerprint " + server.coordinator().fingerprint().substring(0, 12));
    endpoint.warnings(address).forEach(log);
    if (endpoint.portFile() != null) {
      try {
        writePortFile(endpoint.portFile(), server.port());
      } catch (CommandFailure e) {
        server.stop();
        throw e;
      }
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        server.stop();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }));
    io.gradflow.ps.FollowerWatch watch = followerClients == null ? null
        : new io.gradflow.ps.FollowerWatch(followerClients, server.coordinator().followers()).start();
    String failure = server.coordinator().awaitEnd();
    if (watch != null) {
      watch.stop();
    }
    String rollBack = server.coordinator().followers().rollBackReason();
    if (rollBack != null) {
      server.stop();
      for (io.grpc.ManagedChannel f : followers) {
        f.shutdownNow();
      }
      throw new CommandFailure(ExitCode.ROLL_BACK, rollBack + ": restart the coordinator from its newest checkpoint (--resume-if-any)");
    }
    long endedAt = System.nanoTime();
    server.coordinator().awaitAllLeft(LEAVE_GRACE_MILLIS);
    if (failure == null) {
      writeTiming(dir, server);
    }
    lingerAfter(endedAt);
    server.stop();
    for (io.grpc.ManagedChannel f : followers) {
      f.shutdownNow();
    }
    if (failure != null) {
      throw new CommandFailure(SaveFailure.is(failure) ? ExitCode.SAVE_FAILED : ExitCode.FAILED, "job failed: " + failure);
    }
  }

  /** Whether a follower refused the coordinator's call: its job token or its certificate's subject. */
  private static boolean refusedByAFollower(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof io.grpc.StatusRuntimeException e) {
        io.grpc.Status.Code code = e.getStatus().getCode();
        return code == io.grpc.Status.Code.UNAUTHENTICATED || code == io.grpc.Status.Code.PERMISSION_DENIED;
      }
    }
    return false;
  }

  /** How long the coordinator keeps trying to read an unreachable follower before the job fails. */
  private static final long FOLLOWER_PATIENCE_MILLIS = 60_000;

  /**
   * A channel to the follower at {@code address}, HOST:PORT or unix:PATH, with {@code credentials}
   * (a Unix domain socket carries no TLS: the command refuses TLS with such an address).
   */
  static io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder channelTo(String address, io.grpc.ChannelCredentials credentials,
      EventLoops loops) {
    if (address.startsWith("unix:")) {
      return Transport.unixChannel(Path.of(address.substring("unix:".length())), credentials, loops);
    }
    try {
      return Transport.channel(HostPort.parse("--range-server", address), credentials, loops);
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage(e.getMessage());
    }
  }

  /** Keeps serving until {@link #linger} has passed since {@code endedAt}, the moment the job ended. */
  private void lingerAfter(long endedAt) throws InterruptedException {
    long left = linger.toNanos() - (System.nanoTime() - endedAt);
    if (left <= 0) {
      return;
    }
    log.accept(String.format(java.util.Locale.ROOT,
        "the job is over; telling late workers so for %.0f s more (--linger-seconds)", left / 1e9));
    java.util.concurrent.TimeUnit.NANOSECONDS.sleep(left);
  }

  /**
   * Writes the port atomically: a launcher polling for the file never reads half of it. A failure
   * removes the temporary file and is {@link ExitCode#SAVE_FAILED} naming {@code --port-file}.
   */
  static void writePortFile(Path portFile, int port) {
    try {
      AtomicTextFile.write(portFile, Integer.toString(port));
    } catch (OutputException e) {
      throw OutputPaths.cannotWrite("--port-file", portFile, e.getCause());
    }
  }

  /** Writes {@code timing.json}: the per-step time split and the bytes on the wire. */
  private void writeTiming(Path dir, ParameterServer server) {
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
        perWorkerStep / parameterBytes,
        split.workers().stream().map(w -> new RunTiming.Worker(w.workerId(), w.pushes(), w.computeMillis(),
            w.pushMillis(), w.waitMillis(), w.weightsBackMillis())).toList(),
        serverTimings(server, split)).write(RunTiming.file(dir));
  }

  /**
   * Sharded servers: each server's parameters, bytes and reduce and update milliseconds per step
   * (the coordinator's after the warm-up, as the figures above; a follower's over the whole job, as
   * it said at the coordinator's last read); none with one server.
   */
  private java.util.List<RunTiming.Server> serverTimings(ParameterServer server, StepTimings.Split split) {
    if (followerClients == null) {
      return java.util.List.of();
    }
    java.util.List<RunTiming.Server> out = new java.util.ArrayList<>();
    out.add(new RunTiming.Server(0, ranges.get(0).elements(), server.wire().inboundBytes(), server.wire().outboundBytes(),
        split.serverReduceMillis(), split.serverUpdateMillis()));
    java.util.List<io.gradflow.proto.RangeStateHeader> said = followerClients.lastStates();
    for (int i = 0; i < said.size(); i++) {
      io.gradflow.proto.RangeStateHeader h = said.get(i);
      if (h == null) {
        continue;
      }
      double steps = Math.max(1, h.getSteps());
      out.add(new RunTiming.Server(i + 1, ranges.get(i + 1).elements(), h.getBytesIn(), h.getBytesOut(),
          h.getReduceNanos() / steps / 1e6, h.getUpdateNanos() / steps / 1e6));
    }
    return out;
  }
}
