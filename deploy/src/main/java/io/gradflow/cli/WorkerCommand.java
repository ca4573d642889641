package io.gradflow.cli;

import io.gradflow.common.data.DatasetLoader;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.ModelSpecs;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.wire.JobFingerprint;
import io.gradflow.proto.JoinRequest;
import io.gradflow.worker.TokenCredentials;
import io.gradflow.worker.Worker;
import io.gradflow.worker.WorkerFailure;
import io.grpc.ChannelCredentials;
import io.grpc.CompositeChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
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

  @Option(names = "--server", required = true, paramLabel = "HOST:PORT", description = "The parameter server.")
  String server;

  @Option(names = "--name", paramLabel = "NAME", description = "Name in the server's log (default: host/pid).")
  String name;

  @Option(names = "--rpc-timeout", paramLabel = "SECONDS", description = "Deadline of every call to the server (default: ${DEFAULT-VALUE}).")
  double rpcTimeoutSeconds = 60;

  @Option(names = "--reconnect-seconds", paramLabel = "S", description = "While the server is unreachable, retry with exponential backoff for up to S seconds (default: ${DEFAULT-VALUE}).")
  double reconnectSeconds = 60;

  @Option(names = "--heartbeat-ms", paramLabel = "MS", description = "Send a heartbeat every MS milliseconds (default: ${DEFAULT-VALUE}).")
  long heartbeatMs = 500;

  @Option(names = "--threads", paramLabel = "T", description = "Threads computing this worker's micro-shards; the weights are the same bits for any count (default: ${DEFAULT-VALUE}).")
  int threads = 1;

  @Option(names = "--push-delay-ms", paramLabel = "MS", description = "Delay each push by MS ms (rehearses a straggler; default: ${DEFAULT-VALUE}).")
  long pushDelayMs = 0;

  @Option(names = "--push-jitter-ms", paramLabel = "MAX", description = "Delay each push by a further random 0..MAX ms (rehearses arrival order; default: ${DEFAULT-VALUE}).")
  long pushJitterMs = 0;

  @Option(names = "--tls-ca", paramLabel = "PEM", description = "Connect with TLS; trust the server only if one of these CAs (PEM) signed its certificate.")
  Path tlsCa;

  @Option(names = "--tls-cert", paramLabel = "PEM", description = "Client certificate chain (PEM) for a server that requires mutual TLS; needs --tls-key and --tls-ca.")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "PEM", description = "The private key of --tls-cert (unencrypted PKCS#8 PEM).")
  Path tlsKey;

  @Option(names = "--tls-server-name", paramLabel = "NAME", description = "Expect NAME in the server's certificate instead of the --server host (needs --tls-ca).")
  String tlsServerName;

  @Option(names = "--token-file", paramLabel = "FILE", description = "Send the job token in FILE with every call.")
  Path tokenFile;

  @Option(names = "--parent-pid", hidden = true, description = "Exit when this process is gone (set by the launcher).")
  long parentPid;

  @Override
  public Integer call() throws Exception {
    ParentWatch.start(parentPid);
    PrintWriter log = spec.commandLine().getErr();
    HostPort target = HostPort.parse(server, spec);
    if (threads < 1) {
      throw new ParameterException(spec.commandLine(), "--threads must be at least 1, got " + threads);
    }
    ChannelCredentials credentials = credentials(target, log);
    String workerName = name != null ? name : InetAddress.getLocalHost().getHostName() + "/" + ProcessHandle.current().pid();
    JoinRequest join = JoinRequest.getDefaultInstance();
    if (job.givenExplicitly()) {
      ModelSpec modelSpec = job.modelSpec();
      TrainingConfig config = job.trainingConfig();
      var specProto = ModelSpecs.toProto(modelSpec);
      var configProto = config.toProto();
      join = JoinRequest.newBuilder()
          .setFingerprint(JobFingerprint.of(specProto, configProto))
          .setSpec(specProto)
          .setConfig(configProto)
          .build();
    }
    NettyChannelBuilder channelBuilder = NettyChannelBuilder.forAddress(target.host(), target.port(), credentials)
        .maxInboundMessageSize(4 << 20)
        .flowControlWindow(ServerCommand.TRANSPORT_WINDOW_BYTES)
        .withOption(ChannelOption.SO_SNDBUF, ServerCommand.SOCKET_BUFFER_BYTES)
        .withOption(ChannelOption.SO_RCVBUF, ServerCommand.SOCKET_BUFFER_BYTES)
        // The worker's callbacks only decode and complete futures: run them on the transport's
        // thread instead of handing each message to an executor.
        .directExecutor();
    if (tlsServerName != null) {
      channelBuilder.overrideAuthority(tlsServerName);
    }
    ManagedChannel channel = channelBuilder.build();
    try {
      Worker worker = new Worker(channel, new Worker.Options(
          workerName,
          join,
          config -> DatasetLoader.fromSystem(job.dataDir).load(config.dataset()).train(),
          Duration.ofMillis((long) (rpcTimeoutSeconds * 1000)),
          () -> pushDelayMs + (pushJitterMs > 0 ? ThreadLocalRandom.current().nextLong(pushJitterMs + 1) : 0),
          line -> {
            log.println("gradflow worker: " + line);
            log.flush();
          },
          Duration.ofMillis((long) (reconnectSeconds * 1000)),
          Duration.ofMillis(heartbeatMs),
          threads));
      Worker.Result r = worker.run();
      log.println("gradflow worker: rank " + r.rank() + " computed " + r.stepsComputed() + " steps; exiting");
      log.flush();
      return ExitCode.OK.code();
    } catch (WorkerFailure f) {
      ExitCode code = switch (f.kind()) {
        case UNAVAILABLE -> ExitCode.UNAVAILABLE;
        case REFUSED -> ExitCode.REFUSED;
        case FAILED -> ExitCode.FAILED;
      };
      throw new CommandFailure(code, firstLine(f.getMessage()) + tlsFailure(f) + " (server " + server + ")");
    } finally {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** Plaintext, TLS (--tls-ca) or mutual TLS (and --tls-cert, --tls-key), with the token when given. */
  private ChannelCredentials credentials(HostPort target, PrintWriter log) {
    if ((tlsCert == null) != (tlsKey == null)) {
      throw new ParameterException(spec.commandLine(), "--tls-cert and --tls-key go together: give both or neither");
    }
    if (tlsCa == null && (tlsCert != null || tlsServerName != null)) {
      throw new ParameterException(spec.commandLine(),
          (tlsCert != null ? "--tls-cert" : "--tls-server-name") + " needs --tls-ca (the CA that signed the server's certificate)");
    }
    ChannelCredentials transport = JobSecurity.channelCredentials(tlsCa, tlsCert, tlsKey);
    if (tokenFile == null) {
      return transport;
    }
    String token = JobSecurity.readToken(tokenFile, line -> {
      log.println("gradflow worker: " + line);
      log.flush();
    });
    if (tlsCa == null && !JobSecurity.isLoopback(target.host())) {
      log.println("gradflow worker: WARNING: sending the job token to " + target.host() + " without TLS: anyone on the network can read it (use --tls-ca)");
      log.flush();
    }
    return CompositeChannelCredentials.create(transport, new TokenCredentials(token));
  }

  /**
   * When a call failed in the TLS handshake, the deepest reason (gRPC says only "io exception",
   * the TLS engine "General OpenSslEngine problem").
   */
  private String tlsFailure(WorkerFailure f) {
    if (tlsCa == null) {
      return "";
    }
    boolean handshake = false;
    String reason = null;
    for (Throwable t = f.getCause(); t != null; t = t.getCause()) {
      handshake |= t instanceof javax.net.ssl.SSLException;
      if (handshake && t.getMessage() != null) {
        reason = t.getMessage();
      }
    }
    return reason == null ? "" : "; TLS handshake failed: " + firstLine(reason);
  }

  private static String firstLine(String s) {
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl).strip();
  }

  /** {@code host:port}. */
  record HostPort(String host, int port) {
    static HostPort parse(String text, CommandSpec spec) {
      int colon = text.lastIndexOf(':');
      if (colon <= 0 || colon == text.length() - 1) {
        throw new ParameterException(spec.commandLine(), "--server '" + text + "': expected HOST:PORT");
      }
      try {
        int port = Integer.parseInt(text.substring(colon + 1));
        if (port <= 0 || port > 65535) {
          throw new NumberFormatException();
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
          host = host.substring(1, host.length() - 1);
        }
        return new HostPort(host, port);
      } catch (NumberFormatException e) {
        throw new ParameterException(spec.commandLine(), "--server '" + text + "': port must be 1..65535");
      }
    }
  }
}
