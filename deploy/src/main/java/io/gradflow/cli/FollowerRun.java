package io.gradflow.cli;

import io.gradflow.common.wire.ParameterRange;
import io.gradflow.ps.FollowerServer;
import io.gradflow.ps.RangeFollower;
import io.gradflow.ps.ServerJob;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.util.function.Consumer;

/**
 * Runs one follower of a job with sharded servers ({@code server --server-index I}, I >= 1) until
 * the coordinator has read its final range: listens (TCP and, when asked, a Unix domain socket)
 * with the server's TLS and job token, as the coordinator does, writes the port file, and stops. A
 * follower writes no outputs of its own (the coordinator's hold the whole model) and reads no
 * checkpoint: it starts empty and the coordinator seeds it.
 */
final class FollowerRun {
  private final ServerJob job;
  private final ParameterRange range;
  private final int index;
  private final long checkpointEvery;
  private final ServerRun.Endpoint endpoint;
  private final Consumer<String> log;

  FollowerRun(ServerJob job, ParameterRange range, int index, long checkpointEvery, ServerRun.Endpoint endpoint,
      Consumer<String> log) {
    this.job = job;
    this.range = range;
    this.index = index;
    this.checkpointEvery = checkpointEvery;
    this.endpoint = endpoint;
    this.log = log;
  }

  void run() throws IOException, InterruptedException {
    try (EventLoops loops = new EventLoops()) {
      serve(loops);
    }
  }

  /** {@link #run} with the listeners' threads made by {@code loops}. */
  private void serve(EventLoops loops) throws IOException, InterruptedException {
    RangeFollower follower = new RangeFollower(index, job, range, checkpointEvery);
    FollowerServer server = new FollowerServer(
        endpoint.tokenChecked(Transport.server(endpoint.bind(), endpoint.port(), endpoint.credentials(), loops), log),
        follower, index, log);
    if (endpoint.unixSocket() != null) {
      server.alsoListen(endpoint.tokenChecked(Transport.unixServer(endpoint.unixSocket(), loops), log));
    }
    try {
      server.start();
    } catch (IOException e) {
      throw endpoint.cannotListen(e);
    }
    String address = endpoint.bind() + ":" + server.port() + (endpoint.unixSocket() == null ? "" : " and unix:" + endpoint.unixSocket());
    log.accept("server " + index + " (a follower) listening on " + address + "; it owns " + range
        + "; waiting for the coordinator's state");
    endpoint.warnings(address).forEach(log);
    if (endpoint.portFile() != null) {
      try {
        ServerRun.writePortFile(endpoint.portFile(), server.port());
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
    String failure = follower.awaitEnd();
    log.accept("server " + index + ": " + (failure == null ? "the coordinator read the final range after "
        + follower.applied() + " steps (" + follower.duplicates() + " duplicate push(es)); stopping" : "job failed: " + failure));
    server.stop(); // graceful: the final read's answer, queued already, leaves before the listeners close
    if (failure != null) {
      throw new CommandFailure(ExitCode.FAILED, "job failed: " + failure);
    }
  }
}
