package io.gradflow.worker;

import io.gradflow.common.data.Dataset;
import io.gradflow.common.data.SamplingPlan;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.ModelSpecs;
import io.gradflow.common.model.Network;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.train.ShardGradients;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.wire.PushPrecision;
import io.gradflow.proto.JoinRequest;
import io.gradflow.proto.JoinResponse;
import io.gradflow.proto.ReadyRequest;
import io.grpc.Channel;
import java.util.List;
import java.util.Locale;
import java.util.function.BiConsumer;

/**
 * A worker's join of the job, until the server counts it ready: Join, the check of the server's job
 * ({@link Worker#jobCheck}), the training set (loaded at the first join and kept; Ready carries its
 * SHA-256), the kernels' warm-up (at the first join), the link's shared-memory plane and followers
 * as the join answer offers them, and Ready. It returns the job the step loop runs, and runs on the
 * worker's thread.
 */
final class JobJoin {
  /**
   * The job as the server sent it at the last join, with its sum and, where pushes leave on the push
   * thread ({@link #overlapsPushes()}), a spare: the next step computes into one while the other's
   * push is sent. A sum is zero whenever a step begins computing into it: new at the join, and
   * cleared after each push.
   */
  record Joined(JoinResponse response, TrainingConfig config, Network net, ShardGradients shards,
      ExactGradientSum sum, ExactGradientSum spare, double[] shardLoss) {

    /** Whether this job's pushes leave on the {@link PushThread} while the next step computes (see {@link JobJoin#overlapsPushes}). */
    boolean overlapsPushes() {
      return spare != null;
    }
  }

  private final Worker.Options options;
  private final ServerCalls calls;
  private final ServerLink link;
  private Dataset train;
  private String trainDigest;
  /** Channels to servers 1..S-1 of a job with sharded servers (empty: one server). */
  private List<Channel> rangeServers = List.of();
  /** Checks the server's job at each join; what it throws ends the worker, which leaves first. */
  private BiConsumer<ModelSpec, TrainingConfig> jobCheck = (spec, config) -> {};

  JobJoin(Worker.Options options, ServerCalls calls, ServerLink link) {
    this.options = options;
    this.calls = calls;
    this.link = link;
  }

  /** See {@link Worker#rangeServers}. */
  void rangeServers(List<Channel> followers) {
    this.rangeServers = List.copyOf(followers);
  }

  /** See {@link Worker#jobCheck}. */
  void jobCheck(BiConsumer<ModelSpec, TrainingConfig> check) {
    this.jobCheck = check;
  }

  /**
   * Joins until admitted: the server may declare this worker lost between its join and its ready
   * (no heartbeat while the data loads on a busy machine), and then asks it to join again.
   */
  Joined untilReady() {
    while (true) {
      try {
        return join();
      } catch (RejoinNeeded e) {
        options.log().accept("the server asks to join again (" + e.getMessage() + ")");
      }
    }
  }

  private Joined join() {
    JoinRequest request = options.join().toBuilder().setWorkerName(options.name()).build();
    JoinResponse r = calls.call("join", () -> link.blocking().join(request));
    link.joined(r);
    TrainingConfig config = TrainingConfig.fromProto(r.getConfig());
    ModelSpec spec = ModelSpecs.fromProto(r.getSpec());
    try {
      jobCheck.accept(spec, config); // at every join: a restarted server may have another job
    } catch (RuntimeException e) {
      link.leave("", false);
      throw e;
    }
    boolean firstJoin = train == null;
    options.log().accept("joined as rank " + r.getRank() + " at step " + (r.getNextStep() + 1));
    Network net = new Network(spec);
    if (firstJoin) {
      train = options.trainingData().apply(config);
      trainDigest = train.sha256();
    }
    SamplingPlan plan = new SamplingPlan(train.count(), config.batch(), config.microShards(), config.seed());
    ShardGradients shards = new ShardGradients(net, config.kernels(), options.threads(), plan, train);
    if (firstJoin) {
      warmUp(net, shards, config);
    }
    link.attach(r, net, rangeServers);
    if (overlapsPushes(config)) {
      options.log().accept("each push leaves on a thread of its own while the next step computes (staleness "
          + config.staleness() + ")");
    }
    ReadyRequest ready = ReadyRequest.newBuilder()
        .setWorkerId(link.workerId()).setDataDigest(trainDigest).setTrainCount(train.count())
        .setSharedMemory(link.shared() != null).build();
    try {
      calls.call("ready", () -> link.blocking().ready(ready));
    } catch (RuntimeException e) {
      shards.close();
      throw e;
    }
    return new Joined(r, config, net, shards, new ExactGradientSum(net),
        overlapsPushes(config) ? new ExactGradientSum(net) : null, new double[config.microShards()]);
  }

  /**
   * Compiles the kernels before the job starts: runs the forward and backward of the first step
   * and of the second epoch's first step in turn over every micro-shard, {@code warmupPasses} times
   * in all, on the model's initial weights (those of a fresh job; zeros would teach the JIT branch
   * profiles, of ReLU say, that real weights never take), and throws the gradients away. A JVM runs
   * Vector API code interpreted, many times slower, until the JIT has compiled it; this pays for
   * that while the job assembles (before Ready), not in its first steps.
   */
  private void warmUp(Network net, ShardGradients shards, TrainingConfig config) {
    int passes = options.warmupPasses();
    if (passes <= 0) {
      return;
    }
    ExactGradientSum scratch = new ExactGradientSum(net);
    Network initial = Network.initialize(net.spec());
    double[] loss = new double[config.microShards()];
    long start = System.nanoTime();
    long last = 0;
    for (int i = 0; i < passes; i++) {
      long passStart = System.nanoTime();
      scratch.spend();
      try {
        // Every other pass a step of the second epoch, whose permutation replaces the cached one:
        // the compiled step then keeps that branch, which the job first takes at its first epoch's end.
        long step = i % 2 == 0 ? 0 : shards.plan().stepsPerEpoch();
        shards.compute(initial, step, 0, config.microShards(), scratch, loss);
      } catch (ExactGradientSum.NonFiniteGradientException e) {
        return; // the first real step reports it, with its step and micro-shards
      }
      last = System.nanoTime() - passStart;
    }
    options.log().accept(String.format(Locale.ROOT, "warmed up the kernels: %d passes in %.2f s (last %.2f ms)",
        passes, (System.nanoTime() - start) / 1e9, last / 1e6));
  }

  /**
   * Whether this job's pushes leave on the {@link PushThread} while the next step computes: when
   * the options allow it, with staleness (without it the next step needs this push's step closed),
   * through the push file (bf16 pushes are encoded, and so are those of sharded servers, on the socket).
   * Decided at the join: the link's shared-memory plane and ranges are those of the join.
   */
  private boolean overlapsPushes(TrainingConfig config) {
    return options.pushThread() && config.staleness() > 0 && link.shared() != null && link.ranges() == null
        && config.pushPrecision() != PushPrecision.BF16;
  }
}
