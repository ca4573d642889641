package io.gradflow.ps;

import io.gradflow.common.train.TrainingListener;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import java.io.IOException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The parameter server: a gRPC server around a {@link StepCoordinator}. As in grpc-java's
 * examples it takes its {@link ServerBuilder} (tests pass an in-process one) and offers
 * start/stop/blockUntilShutdown.
 */
public final class ParameterServer {
  /** How often silent workers and overdue pulls are looked for. */
  private static final long EXPIRY_PERIOD_MILLIS = 200;

  private final StepCoordinator coordinator;
  private final WireCounter wire = new WireCounter();
  private final Server server;
  private final ParameterService service;
  private final TrainingListener listener;
  /** A second listener of the same service (a Unix domain socket for the workers on this host), or null. */
  private Server local;
  /** Whether {@link ServerWarmUp#start} warmed the loops up already: {@link #start} only rehearses the job's start. */
  private boolean loopsWarmedUp;
  private final ScheduledExecutorService monitor =
      Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "gradflow-membership");
        t.setDaemon(true);
        return t;
      });

  public ParameterServer(ServerBuilder<?> builder, ServerJob job, TrainingListener listener) {
    this(builder, job, ServerPolicy.defaults(), listener);
  }

  public ParameterServer(ServerBuilder<?> builder, ServerJob job, ServerPolicy policy, TrainingListener listener) {
    this.coordinator = new StepCoordinator(job, policy, listener);
    this.service = new ParameterService(coordinator);
    this.listener = listener;
    this.server = builder.addService(service.definition()).addStreamTracerFactory(wire)
        .intercept(new TlsSessionLog(listener::onEvent)).build();
  }

  /**
   * Serves the same job on a second listener too, such as a Unix domain socket for the workers on
   * this host (its interceptors are the caller's, as for the first). Call before {@link #start}.
   */
  public ParameterServer alsoListen(ServerBuilder<?> builder) {
    local = builder.addService(service.definition()).addStreamTracerFactory(wire).intercept(new TlsSessionLog(listener::onEvent)).build();
    return this;
  }

  /** Bytes on the wire so far, both ways. */
  public WireCounter wire() {
    return wire;
  }

  /** Offers the workers on this host the shared-memory data plane under {@code root}; see {@link StepCoordinator#useSharedMemory}. */
  public ParameterServer sharedMemory(java.nio.file.Path root) {
    coordinator.useSharedMemory(root);
    return this;
  }

  /**
   * The server's loops were warmed up before it was made ({@link ServerWarmUp#start}, while the
   * data loaded): {@link #start} lets the listener rehearse the job's start and warms nothing up.
   */
  public ParameterServer loopsWarmedUp() {
    loopsWarmedUp = true;
    return this;
  }

  public ParameterServer start() throws IOException {
    server.start();
    if (local != null) {
      try {
        local.start();
      } catch (IOException e) {
        server.shutdownNow();
        throw e;
      }
    }
    int passes = loopsWarmedUp ? 0 : ServerWarmUp.passes(coordinator.parameterCount());
    Thread warmUp = new Thread(() -> coordinator.warmUp(passes), "gradflow-warmup");
    warmUp.setDaemon(true);
    warmUp.start();
    monitor.scheduleWithFixedDelay(
        coordinator::checkDeadlines,
        EXPIRY_PERIOD_MILLIS, EXPIRY_PERIOD_MILLIS, TimeUnit.MILLISECONDS);
    return this;
  }

  /** The port it listens on (useful with port 0). */
  public int port() {
    return server.getPort();
  }

  public StepCoordinator coordinator() {
    return coordinator;
  }

  /**
   * Waits for the job to end, then up to {@code graceMillis} for the workers to leave; returns the
   * failure reason or null.
   */
  public String awaitJob(long graceMillis) throws InterruptedException {
    String failure = coordinator.awaitEnd();
    coordinator.awaitAllLeft(graceMillis);
    return failure;
  }

  public void stop() throws InterruptedException {
    monitor.shutdownNow();
    server.shutdown();
    if (local != null) {
      local.shutdown();
    }
    coordinator.failWaitingPulls();
    coordinator.closeSharedMemory();
    for (Server s : local == null ? java.util.List.of(server) : java.util.List.of(server, local)) {
      if (!s.awaitTermination(5, TimeUnit.SECONDS)) {
        s.shutdownNow();
        s.awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  public void blockUntilShutdown() throws InterruptedException {
    server.awaitTermination();
  }
}
