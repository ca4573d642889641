package io.gradflow.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.data.SyntheticData;
import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.ModelSpecs;
import io.gradflow.common.model.Network;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.train.LocalTrainer;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.train.TrainingListener;
import io.gradflow.common.wire.JobFingerprint;
import io.gradflow.proto.JoinRequest;
import io.gradflow.ps.ParameterServer;
import io.gradflow.ps.ServerJob;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workers' loop against a real parameter server over in-process gRPC: the distributed job gives
 * the same weights, to the bit, as the single-process trainer, for any worker count (1 to 8) and
 * arrival order; a worker declared lost joins again and the job still ends on those weights; a
 * worker the server refuses, cannot reach, or whose job fails ends with the failure kind the
 * command line turns into its exit code.
 */
class WorkerTest {
  private static final TrainTestSplit DATA = SyntheticData.spirals(3, 200, 0.2, 42);
  private final ModelSpec spec = ModelSpec.parse("2-16-16-3", "tanh", "", 5);
  private final TrainingConfig config =
      new TrainingConfig("spirals", 30, 8, 0.1, 0.9, 1e-4, LearningRateSchedule.Kind.COSINE, 3, 0, 0.1, 2, 25, 9, "ejml");
  private final List<AutoCloseable> closers = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closers) {
      c.close();
    }
  }

  /** Eight micro-shards: one each for eight workers (FLOAT32 pushes), several each for fewer (sums). */
  private final TrainingConfig eightShards =
      new TrainingConfig("spirals", 32, 8, 0.1, 0.9, 1e-4, LearningRateSchedule.Kind.COSINE, 3, 0, 0.1, 2, 25, 9, "ejml");

  private String singleProcessHash() {
    return singleProcessHash(config);
  }

  private String singleProcessHash(TrainingConfig cfg) {
    Network net = Network.initialize(spec);
    new LocalTrainer(net, cfg, DATA).run(new TrainingListener() {});
    return net.sha256();
  }

  private String distributedHash(int workers, long maxDelayMillis) throws Exception {
    return distributedHash(config, workers, maxDelayMillis);
  }

  private String distributedHash(TrainingConfig cfg, int workers, long maxDelayMillis) throws Exception {
    return distributedHash(cfg, workers, maxDelayMillis, null, false);
  }

  /**
   * With {@code sharedMemory} the server offers its shared-memory plane there: the workers pull and
   * push on its exchange socket, or, without {@code socket} (its file removed before they join), on
   * the gRPC Exchange call.
   */
  private String distributedHash(TrainingConfig cfg, int workers, long maxDelayMillis, Path sharedMemory, boolean socket)
      throws Exception {
    return distributedHash(cfg, workers, maxDelayMillis, sharedMemory, socket, new TrainingListener() {});
  }

  private String distributedHash(TrainingConfig cfg, int workers, long maxDelayMillis, Path sharedMemory, boolean socket,
      TrainingListener listener) throws Exception {
    String name = InProcessServerBuilder.generateName();
    ParameterServer server =
        new ParameterServer(
            InProcessServerBuilder.forName(name).directExecutor(),
            new ServerJob(Network.initialize(spec), cfg, DATA, workers),
            listener);
    if (sharedMemory != null) {
      server.sharedMemory(sharedMemory);
    }
    server.start();
    closers.add(server::stop);
    if (sharedMemory != null && !socket) {
      try (var planes = java.nio.file.Files.newDirectoryStream(sharedMemory, "gradflow-*")) {
        for (Path plane : planes) {
          java.nio.file.Files.deleteIfExists(plane.resolve(io.gradflow.common.shm.ExchangeFrames.SOCKET_NAME));
        }
      }
    }
    ExecutorService pool = Executors.newFixedThreadPool(workers);
    closers.add(pool::shutdownNow);
    List<Future<Worker.Result>> results = new ArrayList<>();
    List<String> logged = java.util.Collections.synchronizedList(new ArrayList<>());
    for (int i = 0; i < workers; i++) {
      Random delays = new Random(i);
      ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
      closers.add(channel::shutdownNow);
      int threads = 1 + i % 2; // some workers compute their micro-shards in two threads
      int warmupPasses = i % 2 == 0 ? 2 : 0; // and some warm their kernels up first: neither may change the weights
      Worker w = new Worker(channel, new Worker.Options("w" + i, JoinRequest.getDefaultInstance(), c -> DATA.train(),
          Duration.ofSeconds(20), () -> maxDelayMillis > 0 ? delays.nextInt((int) maxDelayMillis + 1) : 0, logged::add,
          Duration.ofSeconds(60), Duration.ofMillis(500), threads, warmupPasses, true));
      results.add(pool.submit(w::run));
    }
    for (Future<Worker.Result> r : results) {
      assertTrue(r.get(60, TimeUnit.SECONDS).stepsComputed() > 0, "every one of " + workers + " workers computed");
    }
    long onThePlane = logged.stream().filter(l -> l.startsWith("weights and pushes go through shared memory")).count();
    assertEquals(sharedMemory != null ? workers : 0, onThePlane, String.join("\n", logged));
    long onTheSocket = logged.stream().filter(l -> l.endsWith("requests through its exchange socket")).count();
    assertEquals(sharedMemory != null && socket ? workers : 0, onTheSocket, String.join("\n", logged));
    assertTrue(logged.stream().noneMatch(l -> l.contains("exchange socket is not reachable")), String.join("\n", logged));
    long overlapping = logged.stream().filter(l -> l.startsWith("each push leaves on a thread of its own")).count();
    assertEquals(sharedMemory != null && cfg.staleness() > 0 ? workers : 0, overlapping, String.join("\n", logged));
    assertEquals(null, server.awaitJob(1000));
    return server.coordinator().isFinished() ? networkHash(server) : "unfinished";
  }

  private static String networkHash(ParameterServer server) {
    return server.coordinator().networkSha256();
  }

  private Worker.Options options(String name, JoinRequest join, java.util.function.LongSupplier delay) {
    return new Worker.Options(name, join, c -> DATA.train(), Duration.ofSeconds(20), delay, line -> {});
  }

  /** The README's range, "any number of workers (1 to 8)", at both ends and in between. */
  @Test
  void oneTwoThreeAndEightWorkersGiveTheSingleProcessWeights() throws Exception {
    String reference = singleProcessHash(eightShards);
    assertTrue(!reference.equals(Network.initialize(spec).sha256()), "training changed the weights");
    assertEquals(reference, distributedHash(eightShards, 1, 0));
    assertEquals(reference, distributedHash(eightShards, 2, 0));
    assertEquals(reference, distributedHash(eightShards, 3, 0));
    assertEquals(reference, distributedHash(eightShards, 8, 0));
  }

  /** Keeps the layer norms of the gradient of every third step, the only steps it reads the gradient on. */
  private static final class ThirdStepNorms implements TrainingListener {
    final java.util.Map<Long, double[]> norms = new java.util.concurrent.ConcurrentHashMap<>();
    final java.util.concurrent.atomic.AtomicInteger withoutGradient = new java.util.concurrent.atomic.AtomicInteger();

    @Override
    public boolean readsGradient(long step) {
      return step % 3 == 2;
    }

    @Override
    public void onStep(long step, int epoch, double loss, float lr, io.gradflow.common.nn.Gradients gradient) {
      if (gradient == null) {
        withoutGradient.incrementAndGet();
      } else {
        norms.put(step, gradient.layerNorms());
      }
    }
  }

  /**
   * The server writes the step's gradient only for the steps its listener reads it on, and those
   * get the single process's gradient of that step (its sums spent rather than cleared, the last
   * push read in the update's pass); the other steps get none.
   */
  @Test
  void theServersListenerGetsTheSingleProcessGradientOnTheStepsItReads(@TempDir Path shm) throws Exception {
    ThirdStepNorms single = new ThirdStepNorms();
    Network net = Network.initialize(spec);
    new LocalTrainer(net, eightShards, DATA).run(single);
    ThirdStepNorms server = new ThirdStepNorms();
    assertEquals(net.sha256(), distributedHash(eightShards, 2, 0, shm, true, server));
    assertTrue(single.norms.size() > 5, "steps read: " + single.norms.size());
    assertEquals(single.norms.keySet(), server.norms.keySet());
    for (var e : single.norms.entrySet()) {
      org.junit.jupiter.api.Assertions.assertArrayEquals(e.getValue(), server.norms.get(e.getKey()), "step " + e.getKey());
    }
    assertEquals(single.withoutGradient.get(), server.withoutGradient.get());
  }

  /**
   * Staleness: up to K + 1 steps open at once, each computed on older weights, and still the single
   * process's bits for any worker count and arrival order (random push delays).
   */
  @Test
  void withStalenessOneToThreeWorkersGiveTheSingleProcessWeights() throws Exception {
    String synchronous = singleProcessHash(eightShards);
    for (int k : new int[] {1, 2}) {
      TrainingConfig stale = eightShards.withStaleness(k);
      String reference = singleProcessHash(stale);
      assertTrue(!reference.equals(synchronous), "staleness " + k + " trains differently");
      for (int workers = 1; workers <= 3; workers++) {
        assertEquals(reference, distributedHash(stale, workers, workers == 3 ? 10 : 0), "staleness " + k + ", " + workers + " workers");
      }
    }
  }

  /**
   * Workers on the shared-memory plane exchange headers on one Exchange stream each (the sums and
   * weights go through the shared files): the same bits, with and without staleness, in any order.
   */
  @Test
  void onTheSharedMemoryPlaneTheExchangeStreamGivesTheSameWeights(@TempDir Path shm) throws Exception {
    assertEquals(singleProcessHash(eightShards), distributedHash(eightShards, 1, 0, shm, true));
    assertEquals(singleProcessHash(eightShards), distributedHash(eightShards, 3, 10, shm, true));
    TrainingConfig stale = eightShards.withStaleness(1);
    assertEquals(singleProcessHash(stale), distributedHash(stale, 2, 10, shm, true));
    // with staleness each push leaves on the worker's push thread while the next step computes
    assertEquals(singleProcessHash(stale), distributedHash(stale, 1, 0, shm, true));
    TrainingConfig staler = eightShards.withStaleness(2);
    assertEquals(singleProcessHash(staler), distributedHash(staler, 3, 10, shm, true));
    // without the exchange socket (gone, or beyond the reach of the workers) the gRPC Exchange call carries the same
    assertEquals(singleProcessHash(eightShards), distributedHash(eightShards, 2, 10, shm, false));
    assertEquals(singleProcessHash(stale), distributedHash(stale, 2, 10, shm, false));
  }

  @Test
  void randomPushDelaysDoNotChangeTheWeights() throws Exception {
    assertEquals(singleProcessHash(), distributedHash(3, 15));
  }

  @Test
  void belowMinWorkersTheJobPausesAndAJoinerLetsItFinishWithTheSameWeights() throws Exception {
    String name = InProcessServerBuilder.generateName();
    List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
    java.util.concurrent.CountDownLatch stepTen = new java.util.concurrent.CountDownLatch(1);
    ParameterServer server = new ParameterServer(
        InProcessServerBuilder.forName(name),
        new ServerJob(Network.initialize(spec), config, DATA, 2),
        new io.gradflow.ps.ServerPolicy(2, 0, 300, 0, null),
        new TrainingListener() {
          @Override
          public void onEvent(String message) {
            events.add(message);
          }

          @Override
          public void onStep(long step, int epoch, double loss, float lr, io.gradflow.common.nn.Gradients g) {
            if (step == 9) {
              stepTen.countDown();
            }
          }
        });
    server.start();
    closers.add(server::stop);
    ExecutorService pool = Executors.newCachedThreadPool();
    closers.add(pool::shutdownNow);
    ManagedChannel a = InProcessChannelBuilder.forName(name).build();
    ManagedChannel b = InProcessChannelBuilder.forName(name).build();
    closers.add(a::shutdownNow);
    Random slow = new Random(1);
    Future<Worker.Result> ra = pool.submit(new Worker(a, new Worker.Options("a", JoinRequest.getDefaultInstance(),
        c -> DATA.train(), Duration.ofSeconds(20), () -> 5 + slow.nextInt(5), line -> {}, Duration.ofSeconds(20),
        Duration.ofMillis(50)))::run);
    Future<Worker.Result> rb = pool.submit(new Worker(b, new Worker.Options("b", JoinRequest.getDefaultInstance(),
        c -> DATA.train(), Duration.ofSeconds(2), () -> 5, line -> {}, Duration.ofMillis(200),
        Duration.ofMillis(50)))::run);
    assertTrue(stepTen.await(30, TimeUnit.SECONDS));
    b.shutdownNow(); // worker b vanishes: no leave, no heartbeat
    assertThrows(java.util.concurrent.ExecutionException.class, () -> rb.get(30, TimeUnit.SECONDS));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!server.coordinator().waiting() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertTrue(server.coordinator().waiting(), "paused below --min-workers: " + events);
    long pausedAt = server.coordinator().step();
    Thread.sleep(300);
    assertEquals(pausedAt, server.coordinator().step(), "no step while paused");
    ManagedChannel c = InProcessChannelBuilder.forName(name).build();
    closers.add(c::shutdownNow);
    Future<Worker.Result> rc = pool.submit(new Worker(c, options("c", JoinRequest.getDefaultInstance(), () -> 0))::run);
    ra.get(60, TimeUnit.SECONDS);
    rc.get(60, TimeUnit.SECONDS);
    assertEquals(null, server.awaitJob(1000));
    assertEquals(singleProcessHash(), networkHash(server));
    String all = String.join("\n", events);
    assertTrue(all.contains("lost: ") && all.contains("waiting: 1 live worker(s), --min-workers 2")
        && all.contains("resuming: 2 live worker(s)"), all);
  }

  @Test
  void aWorkerOfAnotherJobIsRefusedWithTheDifference() throws Exception {
    String name = InProcessServerBuilder.generateName();
    ParameterServer server =
        new ParameterServer(InProcessServerBuilder.forName(name).directExecutor(),
            new ServerJob(Network.initialize(spec), config, DATA, 1), new TrainingListener() {});
    server.start();
    closers.add(server::stop);
    ModelSpec other = ModelSpec.parse("2-8-3", "tanh", "", 5);
    var otherSpec = ModelSpecs.toProto(other);
    var cfg = config.toProto();
    JoinRequest join = JoinRequest.newBuilder()
        .setFingerprint(JobFingerprint.of(otherSpec, cfg)).setSpec(otherSpec).setConfig(cfg).build();
    ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
    closers.add(channel::shutdownNow);
    WorkerFailure f = assertThrows(WorkerFailure.class,
        () -> new Worker(channel, options("x", join, () -> 0)).run());
    assertEquals(WorkerFailure.Kind.REFUSED, f.kind());
    assertTrue(f.getMessage().contains("model: 2-16-16-3 (server) vs 2-8-3 (worker)"), f.getMessage());
  }

  @Test
  void aWorkerDeclaredLostJoinsAgainAndTheJobEndsOnTheSameWeights() throws Exception {
    String name = InProcessServerBuilder.generateName();
    List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
    ParameterServer server = new ParameterServer(InProcessServerBuilder.forName(name),
        new ServerJob(Network.initialize(spec), config, DATA, 1), new io.gradflow.ps.ServerPolicy(1, 0, 500, 0, null),
        new TrainingListener() {
          @Override
          public void onEvent(String message) {
            events.add(message);
          }
        });
    server.start();
    closers.add(server::stop);
    ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
    closers.add(channel::shutdownNow);
    List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());
    int[] pushes = {0};
    // no heartbeats, and one push held back three times the server's worker timeout: the server
    // declares the worker lost, and its push asks it to join again
    Worker w = new Worker(channel, new Worker.Options("w", JoinRequest.getDefaultInstance(), c -> DATA.train(),
        Duration.ofSeconds(20), () -> ++pushes[0] == 5 ? 1500 : 0, log::add, Duration.ofSeconds(20), Duration.ofHours(1)));
    Worker.Result result = w.run();
    assertEquals(null, server.awaitJob(1000));
    assertEquals(singleProcessHash(), networkHash(server));
    assertTrue(log.stream().anyMatch(l -> l.startsWith("the server asks to join again (worker 0 (w) ")), log.toString());
    assertTrue(events.stream().anyMatch(e -> e.startsWith("lost: worker 0 (w) (no heartbeat for ")), events.toString());
    assertTrue(result.rank() >= 1, "a new rank after joining again: " + result.rank());
    assertEquals(config.totalSteps(DATA.train().count()), result.lastStep());
  }

  @Test
  void aWorkerWithOtherTrainingDataIsRefused() throws Exception {
    String name = InProcessServerBuilder.generateName();
    ParameterServer server = new ParameterServer(InProcessServerBuilder.forName(name).directExecutor(),
        new ServerJob(Network.initialize(spec), config, DATA, 1), new TrainingListener() {});
    server.start();
    closers.add(server::stop);
    ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
    closers.add(channel::shutdownNow);
    TrainTestSplit other = SyntheticData.spirals(3, 200, 0.2, 43);
    WorkerFailure f = assertThrows(WorkerFailure.class, () -> new Worker(channel, new Worker.Options("x",
        JoinRequest.getDefaultInstance(), c -> other.train(), Duration.ofSeconds(20), () -> 0, line -> {})).run());
    assertEquals(WorkerFailure.Kind.REFUSED, f.kind());
    assertTrue(f.getMessage().startsWith("refused by the parameter server (ready): training data differs: worker 0 (x)"),
        f.getMessage());
  }

  @Test
  void aServerThatCannotBeReachedMakesTheWorkerUnavailableAfterItsReconnectWindow() {
    ManagedChannel channel = InProcessChannelBuilder.forName(InProcessServerBuilder.generateName()).build();
    closers.add(channel::shutdownNow);
    List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());
    WorkerFailure f = assertThrows(WorkerFailure.class, () -> new Worker(channel, new Worker.Options("x",
        JoinRequest.getDefaultInstance(), c -> DATA.train(), Duration.ofSeconds(2), () -> 0, log::add,
        Duration.ofMillis(300), Duration.ofMillis(500))).run());
    assertEquals(WorkerFailure.Kind.UNAVAILABLE, f.kind());
    assertTrue(f.getMessage().startsWith("parameter server unreachable (join)"), f.getMessage());
    assertTrue(log.get(0).startsWith("parameter server unreachable (join: "), log.toString());
  }

  @Test
  void whenTheJobFailsItsWorkersEndWithFailed() throws Exception {
    TrainingConfig diverging =
        new TrainingConfig("spirals", 30, 8, 1e38, 0.9, 0, LearningRateSchedule.Kind.CONSTANT, 0, 0, 0.1, 2, 25, 9, "ejml");
    String name = InProcessServerBuilder.generateName();
    ParameterServer server = new ParameterServer(InProcessServerBuilder.forName(name),
        new ServerJob(Network.initialize(spec), diverging, DATA, 2), new TrainingListener() {});
    server.start();
    closers.add(server::stop);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    closers.add(pool::shutdownNow);
    List<Future<Worker.Result>> results = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
      closers.add(channel::shutdownNow);
      results.add(pool.submit(new Worker(channel, options("w" + i, JoinRequest.getDefaultInstance(), () -> 0))::run));
    }
    for (Future<Worker.Result> r : results) {
      java.util.concurrent.ExecutionException e =
          assertThrows(java.util.concurrent.ExecutionException.class, () -> r.get(60, TimeUnit.SECONDS));
      WorkerFailure f = (WorkerFailure) e.getCause();
      assertEquals(WorkerFailure.Kind.FAILED, f.kind());
      assertTrue(f.getMessage().contains("= NaN"), f.getMessage()); // its own gradient, or the job stopped on another's
    }
    String failure = server.awaitJob(1000);
    assertTrue(failure.matches("worker [01] \\(w[01]\\): step \\d+, micro-shards .*= NaN.*"), failure);
  }
}
