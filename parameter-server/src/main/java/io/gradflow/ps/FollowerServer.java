package io.gradflow.ps;

import io.grpc.Server;
import io.grpc.ServerBuilder;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A follower of a job with sharded servers as a gRPC server: a {@link RangeFollower} behind the
 * ParameterServer service (pulls and pushes of its range) and the RangeFollower service (the
 * coordinator's reads), on one or more listeners.
 */
public final class FollowerServer {
  private final RangeFollower follower;
  private final FollowerService service;
  private final WireCounter wire = new WireCounter();
  private final List<Server> servers = new ArrayList<>();
  private final Consumer<String> log;

  /** @param log takes its one-line messages: the TLS session of its first call over TLS */
  public FollowerServer(ServerBuilder<?> builder, RangeFollower follower, int index, Consumer<String> log) {
    this.follower = follower;
    this.service = new FollowerService(follower, index, wire);
    this.log = log;
    alsoListen(builder);
  }

  /** Serves on another listener too (a Unix domain socket); call before {@link #start}. */
  public FollowerServer alsoListen(ServerBuilder<?> builder) {
    servers.add(builder.addService(service.definition()).addService(service.stateDefinition()).addStreamTracerFactory(wire)
        .intercept(new TlsSessionLog(log)).build());
    return this;
  }

  public FollowerServer start() throws IOException {
    for (Server s : servers) {
      s.start();
    }
    return this;
  }

  /** The port of the first listener. */
  public int port() {
    return servers.get(0).getPort();
  }

  public RangeFollower follower() {
    return follower;
  }

  /** Bytes on the wire so far, both ways. */
  public WireCounter wire() {
    return wire;
  }

  public void stop() throws InterruptedException {
    for (Server s : servers) {
      s.shutdown();
    }
    follower.failWaiting();
    for (Server s : servers) {
      if (!s.awaitTermination(5, TimeUnit.SECONDS)) {
        s.shutdownNow();
        s.awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }
}
