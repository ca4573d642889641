package io.gradflow.worker;

import io.gradflow.common.data.Dataset;
import io.gradflow.common.data.SamplingPlan;
import io.gradflow.common.model.ModelSpecs;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.train.ShardGradients;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.wire.PushCodec;
import io.gradflow.common.wire.PushPrecision;
import io.gradflow.proto.HeartbeatRequest;
import io.gradflow.proto.JoinRequest;
import io.gradflow.proto.JoinResponse;
import io.gradflow.proto.LeaveRequest;
import io.gradflow.proto.ParameterServerGrpc;
import io.gradflow.proto.PullRequest;
import io.gradflow.proto.PushChunk;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.PushResponse;
import io.gradflow.proto.ReadyRequest;
import io.gradflow.proto.TensorChunk;
import io.gradflow.proto.WeightsHeader;
import io.grpc.Channel;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A worker: joins the parameter server, loads the job's data set, then loops: pull the weights of
 * the next step with the micro-shards it must compute, compute their gradients, push their exact
 * fixed-point sum. Every call has a deadline. It sends heartbeats while it lives; when the server
 * is unreachable it retries with exponential backoff for up to {@code reconnect}, and when the
 * server no longer knows it (restarted, or declared it lost) it joins again and continues. It
 * returns when the server says the job is done; when it joins a job that has finished already, it
 * fails at once with {@link WorkerFailure.Kind#JOB_OVER} (the server's OUT_OF_RANGE).
 */
public final class Worker {
  /**
   * What the worker needs besides the server: its data, its name, its limits, its log; {@code
   * pushThread}: whether it may send pushes on a {@link PushThread} while it computes (with
   * staleness, on the shared-memory plane), which pays only where a core is free for that thread.
   */
  public record Options(
      String name,
      JoinRequest join,
      Function<TrainingConfig, Dataset> trainingData,
      Duration rpcTimeout,
      LongSupplier pushDelayMillis,
      Consumer<String> log,
      Duration reconnect,
      Duration heartbeat,
      int threads,
      int warmupPasses,
      boolean pushThread) {

    /** Options with a 60 s reconnect window, a heartbeat every 500 ms, one compute thread, no warm-up and a push thread. */
    public Options(String name, JoinRequest join, Function<TrainingConfig, Dataset> trainingData,
        Duration rpcTimeout, LongSupplier pushDelayMillis, Consumer<String> log) {
      this(name, join, trainingData, rpcTimeout, pushDelayMillis, log, Duration.ofSeconds(60), Duration.ofMillis(500), 1, 0, true);
    }

    /** Options with one compute thread and a push thread. */
    public Options(String name, JoinRequest join, Function<TrainingConfig, Dataset> trainingData,
        Duration rpcTimeout, LongSupplier pushDelayMillis, Consumer<String> log, Duration reconnect,
        Duration heartbeat) {
      this(name, join, trainingData, rpcTimeout, pushDelayMillis, log, reconnect, heartbeat, 1, 0, true);
    }
  }

  /** What the worker did. */
  public record Result(int rank, long stepsComputed, long lastStep) {}

  private final ParameterServerGrpc.ParameterServerBlockingStub blocking;
  private final ParameterServerGrpc.ParameterServerStub async;
  private final Channel channel;
  private final Options options;
  private final ServerCalls calls;
  private volatile String workerId;
  private int rank = -1;
  private Dataset train;
  private String trainDigest;
  /** The server's shared-memory data plane as mapped at the last join, or null: everything goes through the socket. */
  private SharedMemoryLink shared;
  /** With {@link #shared}: the stream that carries this worker's pulls and pushes, or null until the next one opens it. */
  private ExchangeStream exchange;
  /** Sends pushes while the next step computes; made at the first such push. */
  private PushThread pushThread;
  /** Channels to servers 1..S-1 of a job with sharded servers (empty: one server). */
  private List<Channel> rangeServers = List.of();
  /** The ranges this worker exchanges with the servers, as of the last join; null with one server. */
  private RangeExchange ranges;

  public Worker(Channel channel, Options options) {
    this.channel = channel;
    this.blocking = ParameterServerGrpc.newBlockingStub(channel);
    this.async = ParameterServerGrpc.newStub(channel);
    this.options = options;
    this.calls = new ServerCalls(options.reconnect(), options.log());
  }

  /**
   * A job with sharded servers: {@code followers} reach servers 1..S-1 in order (the channel given
   * to the constructor reaches server 0, the coordinator). See {@link RangeExchange}.
   */
  public Worker rangeServers(List<Channel> followers) {
    this.rangeServers = List.copyOf(followers);
    return this;
  }

  public Result run() {
    ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "gradflow-heartbeat");
      t.setDaemon(true);
      return t;
    });
    long period = Math.max(10, options.heartbeat().toMillis());
    heartbeats.scheduleWithFixedDelay(this::heartbeat, period, period, TimeUnit.MILLISECONDS);
    try {
      return train();
    } finally {
      heartbeats.shutdownNow();
      if (pushThread != null) {
        pushThread.close();
      }
    }
  }

  private void heartbeat() {
    String id = workerId;
    if (id == null) {
      return;
    }
    try {
      blocking.withDeadlineAfter(Math.max(1000, options.heartbeat().toMillis() * 2), TimeUnit.MILLISECONDS)
          .heartbeat(HeartbeatRequest.newBuilder().setWorkerId(id).build());
    } catch (StatusRuntimeException e) {
      // the main loop sees the same trouble on its next call and handles it there
    }
  }

  /**
   * The job as the server sent it at the last join, with its sum and, where pushes leave on the push
   * thread ({@link #overlapsPushes}), a spare: the next step computes into one while the other's
   * push is sent. A sum is zero whenever a step begins computing into it: new at the join, and
   * cleared after each push.
   */
  private record Joined(JoinResponse response, TrainingConfig config, Network net, ShardGradients shards,
      ExactGradientSum sum, ExactGradientSum spare, double[] shardLoss) {}

  private Joined join() {
    JoinRequest request = options.join().toBuilder().setWorkerName(options.name()).build();
    JoinResponse r = call("join", () -> blocking.withDeadlineAfter(deadlineMillis(), TimeUnit.MILLISECONDS).join(request));
    workerId = r.getWorkerId();
    rank = r.getRank();
    options.log().accept("joined as rank " + rank + " at step " + (r.getNextStep() + 1));
    TrainingConfig config = TrainingConfig.fromProto(r.getConfig());
    Network net = new Network(ModelSpecs.fromProto(r.getSpec()));
    boolean firstJoin = train == null;
    if (firstJoin) {
      train = options.trainingData().apply(config);
      trainDigest = train.sha256();
    }
    SamplingPlan plan = new SamplingPlan(train.count(), config.batch(), config.microShards(), config.seed());
    ShardGradients shards = new ShardGradients(net, config.kernels(), options.threads(), plan, train);
    if (firstJoin) {
      warmUp(net, shards, config);
    }
    closeExchange();
    ranges = RangeExchange.forJob(r.getServers(), r.getServerGeneration(), net, rangeServers);
    shared = SharedMemoryLink.attach(r, net, options.log());
    if (overlapsPushes(config)) {
      options.log().accept("each push leaves on a thread of its own while the next step computes (staleness "
          + config.staleness() + ")");
    }
    ReadyRequest ready = ReadyRequest.newBuilder()
        .setWorkerId(workerId).setDataDigest(trainDigest).setTrainCount(train.count())
        .setSharedMemory(shared != null).build();
    try {
      call("ready", () -> blocking.withDeadlineAfter(deadlineMillis(), TimeUnit.MILLISECONDS).ready(ready));
    } catch (RuntimeException e) {
      shards.close();
      throw e;
    }
    return new Joined(r, config, net, shards, new ExactGradientSum(net),
        overlapsPushes(config) ? new ExactGradientSum(net) : null, new double[config.microShards()]);
  }

  /**
   * Compiles the kernels before the job starts: runs the first step's forward and backward over
   * every micro-shard {@code warmupPasses} times on the model's initial weights (those of a fresh
   * job; zeros would teach the JIT branch profiles, of ReLU say, that real weights never take),
   * and throws the gradients away. A JVM runs Vector API code interpreted, many times slower, until the JIT has compiled
   * it; this pays for that while the job assembles (before Ready), not in its first steps.
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
      scratch.clear();
      try {
        shards.compute(initial, 0, 0, config.microShards(), scratch, loss);
      } catch (ExactGradientSum.NonFiniteGradientException e) {
        return; // the first real step reports it, with its step and micro-shards
      }
      last = System.nanoTime() - passStart;
    }
    options.log().accept(String.format(Locale.ROOT, "warmed up the kernels: %d passes in %.2f s (last %.2f ms)",
        passes, (System.nanoTime() - start) / 1e9, last / 1e6));
  }

  /** Timings of the current step, sent with its push. */
  private long pullWaitNanos;
  private long pullTransferNanos;
  private long computeNanos;
  private long lastPushNanos;
  /** Time spent waiting for push acknowledgements since the last pull's answer. */
  private long ackWaitNanos;

  /**
   * Joins until admitted: the server may declare this worker lost between its join and its ready
   * (no heartbeat while the data loads on a busy machine), and then asks it to join again.
   */
  private Joined joinUntilReady() {
    while (true) {
      try {
        return join();
      } catch (RejoinNeeded e) {
        options.log().accept("the server asks to join again (" + e.getMessage() + ")");
      }
    }
  }

  /**
   * The loop. Without staleness a push is acknowledged before the next step's weights are used.
   * With staleness K >= 1 the server answers the next pull at once (the next step computes on older
   * weights), so the worker computes step t + 1 while step t's push is acknowledged, and checks that
   * acknowledgement only before its next push (or before it asks again for work). On the
   * shared-memory plane it also sends step t's push on its {@link PushThread} while it computes
   * step t + 1 ({@link #overlapsPushes}): the push waits, computed, until the weights of step t + 1
   * are in the network, then goes with the pull of step t + 2, and the next step computes into the
   * other of the two sums.
   */
  private Result train() {
    Joined job = joinUntilReady();
    long want = job.response().getNextStep();
    long computed = 0;
    WeightsPull next = null;
    PushInFlight unacknowledged = null;
    Computed pending = null; // overlapped pushes: computed, not yet sent
    ExactGradientSum sum = job.sum();
    while (true) {
      WeightsHeader header;
      try {
        if (pending != null && !next.answered()) {
          // the answer may wait for this push (the job's last step, or no work for this worker
          // until this step closes): send it now, before waiting
          unacknowledged = sendNow(pending, job.net());
          pending = null;
        }
        header = next == null ? pull(want, job.net())
            : pending == null ? awaitPull(next, want, 0, 0, job.net())
            : awaitPull(next, want, pending.first(), pending.end(), job.net());
        next = null;
        if (pending != null && header.getState() != WeightsHeader.State.READY) {
          if (header.getState() != WeightsHeader.State.DONE) { // no step to overlap it with: send it now
            unacknowledged = sendNow(pending, job.net());
          }
          pending = null;
        }
        switch (header.getState()) {
          case NOT_YET, NO_WORK -> {
            unacknowledged = acknowledged(unacknowledged); // a pull without the in-flight range must not get it back
          }
          case DONE -> {
            job.shards().close();
            closeExchange();
            leave("", false);
            options.log().accept("job done after step " + header.getStep());
            return new Result(rank, computed, header.getStep());
          }
          case READY -> {
            long step = header.getStep();
            Future<PushInFlight> sending = null;
            if (pending != null) {
              // step t - 1's push leaves now, with the pull of step t + 1, while this step computes
              Computed push = pending;
              ExchangeStream stream = exchange();
              PullRequest ask = pullRequest(step + 1, header.getShardFirst(), header.getShardEnd());
              long handOver = System.nanoTime();
              Network net = job.net();
              sending = pushThread().start(() -> writeAndSend(push, stream, ask, net));
              pending = null;
              lastPushNanos = System.nanoTime() - handOver;
            } else if (job.config().staleness() > 0 && shared != null) {
              // Ask for step t + 1 before computing step t: its weights (version t + 1 - K) appear
              // when step t - K closes, while this step computes. (The weights are copied from
              // the shared file only when the answer is awaited, so the network is not touched.)
              next = askPull(step + 1, header.getShardFirst(), header.getShardEnd(), job.net());
            }
            long computeStart = System.nanoTime();
            try {
              job.shards().compute(job.net(), step, header.getShardFirst(), header.getShardEnd(), sum, job.shardLoss());
            } catch (ExactGradientSum.NonFiniteGradientException e) {
              String reason = "step " + (step + 1) + ", micro-shards [" + header.getShardFirst() + ", "
                  + header.getShardEnd() + "): " + e.getMessage();
              if (sending != null) {
                sending.cancel(false);
              }
              leave(reason, true);
              throw new WorkerFailure(WorkerFailure.Kind.FAILED, "non-finite gradient at " + reason);
            }
            computeNanos = System.nanoTime() - computeStart;
            if (sending != null) {
              long waitStart = System.nanoTime();
              unacknowledged = PushThread.finish(sending);
              next = unacknowledged.next();
              lastPushNanos += System.nanoTime() - waitStart;
            }
            if (unacknowledged != null) { // staleness: the previous push travelled while this step computed
              long ackStart = System.nanoTime();
              unacknowledged = acknowledged(unacknowledged);
              pullWaitNanos += System.nanoTime() - ackStart;
            }
            ServerCalls.sleep(options.pushDelayMillis().getAsLong());
            Computed done = new Computed(sum,
                pushHeader(step, header.getShardFirst(), header.getShardEnd(), job.config().pushPrecision(), job.shardLoss()));
            if (overlapsPushes(job.config())) {
              pending = done;
              sum = sum == job.sum() ? job.spare() : job.sum();
            } else {
              PushInFlight sent = push(done, job.shards().lastShard(), job.net(), job.config().staleness() > 0, next);
              next = sent.next();
              if (job.config().staleness() == 0) {
                long ackStart = System.nanoTime();
                acknowledged(sent);
                ackWaitNanos += System.nanoTime() - ackStart;
              } else {
                unacknowledged = sent;
              }
            }
            computed++;
            want = Math.max(want, step + 1);
          }
          default -> throw new WorkerFailure(WorkerFailure.Kind.FAILED, "unexpected pull state " + header.getState());
        }
      } catch (RejoinNeeded e) {
        options.log().accept("the server asks to join again (" + e.getMessage() + ")");
        if (next != null) {
          next.cancel();
          next = null;
        }
        unacknowledged = null; // the server that asks for the join no longer counts it
        pending = null; // nor a push not sent yet
        job.shards().close();
        job = joinUntilReady();
        sum = job.sum();
        want = job.response().getNextStep();
      }
    }
  }

  /**
   * Whether this job's pushes leave on the {@link PushThread} while the next step computes: when
   * the options allow it, with staleness (without it the next step needs this push's step closed),
   * through the push file (bf16 pushes are encoded, and so are those of sharded servers, on the socket).
   */
  private boolean overlapsPushes(TrainingConfig config) {
    return options.pushThread() && config.staleness() > 0 && shared != null && ranges == null
        && config.pushPrecision() != PushPrecision.BF16;
  }

  private PushThread pushThread() {
    if (pushThread == null) {
      pushThread = new PushThread();
    }
    return pushThread;
  }

  /** A step's gradient, computed: the micro-shards its push {@code header} names, summed in {@code sum}. */
  private record Computed(ExactGradientSum sum, PushHeader.Builder header) {
    long step() {
      return header.getStep();
    }

    int first() {
      return header.getShardFirst();
    }

    int end() {
      return header.getShardEnd();
    }
  }

  /**
   * On the push thread (or the worker's, {@link #sendNow}): writes {@code push}'s sums into the push
   * file, sends its header and, when {@code nextPull} is not null, that pull, in one write on {@code
   * stream}, then clears the sums for their next step. Only the worker's thread reads the replies.
   */
  private PushInFlight writeAndSend(Computed push, ExchangeStream stream, PullRequest nextPull, Network net) {
    shared.push().write(push.sum()); // the server acknowledged the previous push: it no longer reads the file
    CompletableFuture<PushResponse> sent;
    WeightsPull next = null;
    stream.hold();
    try {
      sent = stream.push(push.header().build());
      if (nextPull != null) {
        next = new WeightsPull(nextPull, net, shared, stream, channel,
            async.getCallOptions(), ranges, deadlineMillis());
      }
    } finally {
      stream.release();
    }
    push.sum().clear();
    return new PushInFlight(push.step(), push.header(), List.of(), null, sent, next);
  }

  /** Sends a computed push on this thread, without a pull. */
  private PushInFlight sendNow(Computed push, Network net) {
    long start = System.nanoTime();
    PushInFlight sent = writeAndSend(push, exchange(), null, net);
    lastPushNanos = System.nanoTime() - start;
    return sent;
  }

  /** Pulls step {@code >= want}; on READY the weights are written into {@code net}. */
  private WeightsHeader pull(long want, Network net) {
    return call("pull", () -> await(askPull(want, 0, 0, net)));
  }

  /** Asks for step {@code >= want}; micro-shards {@code [pushedFirst, pushedEnd)} of step {@code want - 1} are being pushed. */
  private WeightsPull askPull(long want, int pushedFirst, int pushedEnd, Network net) {
    return new WeightsPull(pullRequest(want, pushedFirst, pushedEnd), net, shared, shared != null ? exchange() : null, channel,
        async.getCallOptions(), ranges, deadlineMillis());
  }

  private PullRequest pullRequest(long want, int pushedFirst, int pushedEnd) {
    return PullRequest.newBuilder()
        .setWorkerId(workerId).setStep(want).setPushedFirst(pushedFirst).setPushedEnd(pushedEnd).build();
  }

  /** The answer of {@code pull}; the step's wait and transfer times are taken from it when its weights came. */
  private WeightsHeader await(WeightsPull pull) {
    WeightsHeader h = pull.await();
    if (pull.weightsArrived()) {
      timeWaited(pull);
    }
    return h;
  }

  /**
   * The answer of a pull asked for earlier; when it failed, pulls again as {@link #pull} does, saying
   * that micro-shards {@code [pushedFirst, pushedEnd)} of step {@code want - 1} are on their way
   * (a computed push not sent yet), so that the server does not hand them out again.
   */
  private WeightsHeader awaitPull(WeightsPull pending, long want, int pushedFirst, int pushedEnd, Network net) {
    boolean[] firstTry = {true};
    return call("pull", () -> {
      if (firstTry[0]) {
        firstTry[0] = false;
        return await(pending);
      }
      return await(askPull(want, pushedFirst, pushedEnd, net));
    });
  }

  /**
   * The wait for the weights of this step: the acknowledgements waited for since the last pull,
   * and the pull's wait for its header; the transfer: from then to the weights in the network.
   */
  private void timeWaited(WeightsPull answered) {
    pullWaitNanos = ackWaitNanos + answered.waitedNanos();
    ackWaitNanos = 0;
    pullTransferNanos = answered.transferNanos();
  }

  /** The header of the push of micro-shards {@code [first, end)} of {@code step}, with this step's timings. */
  private PushHeader.Builder pushHeader(long step, int first, int end, PushPrecision precision, double[] shardLoss) {
    boolean viaMemory = shared != null && precision != PushPrecision.BF16;
    PushHeader.Encoding encoding = viaMemory ? PushHeader.Encoding.SHARED_FIXED64 : PushCodec.encodingFor(precision, end - first);
    PushHeader.Builder header =
        PushHeader.newBuilder()
            .setWorkerId(workerId)
            .setStep(step)
            .setShardFirst(first)
            .setShardEnd(end)
            .setEncoding(encoding)
            .setComputeNanos(computeNanos)
            .setPullWaitNanos(pullWaitNanos)
            .setPullTransferNanos(pullTransferNanos)
            .setPreviousPushNanos(lastPushNanos);
    for (int m = first; m < end; m++) {
      header.addShardLoss(shardLoss[m]);
    }
    return header;
  }

  /**
   * Pushes {@code push} on this thread in the encoding its header names ({@link PushCodec} chose
   * it): one micro-shard as its float32 gradient ({@code single}), several as their packed
   * fixed-point sum, or, in a job with push precision bf16, the sum rounded once to bfloat16; on
   * the shared-memory plane the sums go into the push file. Clears the sums after.
   * Non-finite gradients never get here: the fixed-point sum refused them during the compute.
   * Returns the push in flight with the pull of the next step's weights: {@code asked} when it was
   * asked for before this step computed, else asked for now (before the push with staleness, after
   * it without); {@link #acknowledged} waits for the acknowledgement.
   */
  private PushInFlight push(Computed push, Gradients single, Network net, boolean pullFirst, WeightsPull asked) {
    PushHeader.Builder header = push.header();
    PushHeader.Encoding encoding = header.getEncoding();
    boolean viaMemory = encoding == PushHeader.Encoding.SHARED_FIXED64;
    long start = System.nanoTime();
    List<TensorChunk> chunks;
    List<List<TensorChunk>> rangeChunks = null;
    if (viaMemory) {
      shared.push().write(push.sum()); // the server acknowledged the previous push: it no longer reads the file
      chunks = List.of();
    } else if (ranges != null) {
      rangeChunks = ranges.chunks(encoding, push.sum(), single);
      chunks = rangeChunks.get(0);
    } else {
      chunks = PushCodec.encode(encoding, push.sum(), single);
    }
    // With staleness the next step's weights exist already: ask for them before the push, so the
    // server answers the pull before it reduces the push and updates (one connection's calls are
    // handled in order), and this step's reduce and update overlap the next step's compute.
    WeightsPull early = asked != null ? asked : pullFirst ? askPull(push.step() + 1, push.first(), push.end(), net) : null;
    // Otherwise ask for the next weights right after the push: the server answers the moment the
    // step closes, while the push's acknowledgement travels back, instead of one round trip after
    // it. On the exchange socket both requests leave in one write.
    ExchangeStream together = viaMemory && early == null ? exchange() : null;
    if (together != null) {
      together.hold();
    }
    CompletableFuture<PushResponse> sent;
    WeightsPull next;
    try {
      sent = sendPush(header.build(), chunks, rangeChunks);
      next = early != null ? early : askPull(push.step() + 1, push.first(), push.end(), net);
    } finally {
      if (together != null) {
        together.release();
      }
    }
    lastPushNanos = System.nanoTime() - start;
    // The push is in the push file or its chunks now: clear the sums for the next step while the
    // server reduces, instead of before the next compute.
    push.sum().clear();
    return new PushInFlight(push.step(), header, chunks, rangeChunks, sent, next);
  }

  /**
   * A push sent and not yet acknowledged (its chunks kept to send it again; with sharded servers
   * also every server's, {@code rangeChunks}), and the pull asked for after it.
   */
  private record PushInFlight(long step, PushHeader.Builder header, List<TensorChunk> chunks,
      List<List<TensorChunk>> rangeChunks, CompletableFuture<PushResponse> sent, WeightsPull next) {}

  /**
   * Waits for the acknowledgement of {@code push} (null: nothing to wait for), sending it again
   * while the server is unreachable; when it fails for good the pull asked for after it is
   * cancelled. Returns null.
   */
  private PushInFlight acknowledged(PushInFlight push) {
    if (push == null) {
      return null;
    }
    String what = "push of step " + (push.step() + 1);
    boolean[] firstTry = {true};
    try {
      call("push", () -> {
        try {
          if (firstTry[0]) {
            firstTry[0] = false;
            ExchangeStream on = push.header().getEncoding() == PushHeader.Encoding.SHARED_FIXED64 ? exchange : null;
            return ServerCalls.awaitReply(on, push.sent(), what, deadlineMillis() + 1000);
          }
          return ServerCalls.awaitFuture(sendPush(push.header().setWorkerId(workerId).build(), push.chunks(), push.rangeChunks()), what,
              deadlineMillis() + 1000);
        } catch (RuntimeException e) {
          if (push.header().getEncoding() == PushHeader.Encoding.SHARED_FIXED64) {
            closeExchange(); // the retry, if any, goes on a new stream
          }
          throw e;
        }
      });
    } catch (RuntimeException e) {
      if (push.next() != null) {
        push.next().cancel();
      }
      throw e;
    }
    return null;
  }

  /**
   * Sends a whole push (header, then chunks); the future completes with the server's answer. With
   * sharded servers ({@code rangeChunks} not null) every server gets its range and the coordinator's
   * push completes once the others acknowledged theirs ({@link RangeExchange#push}).
   */
  private CompletableFuture<PushResponse> sendPush(PushHeader header, List<TensorChunk> chunks, List<List<TensorChunk>> rangeChunks) {
    if (header.getEncoding() == PushHeader.Encoding.SHARED_FIXED64) {
      return exchange().push(header);
    }
    CompletableFuture<PushResponse> done = new CompletableFuture<>();
    StreamObserver<PushChunk> out =
        async
            .withDeadlineAfter(deadlineMillis(), TimeUnit.MILLISECONDS)
            .pushGradients(RangeExchange.answer(done));
    out.onNext(PushChunk.newBuilder().setHeader(header).build());
    for (TensorChunk c : chunks) {
      out.onNext(PushChunk.newBuilder().setChunk(c).build());
    }
    if (rangeChunks != null) {
      return ranges.push(header, rangeChunks, out, done, deadlineMillis());
    }
    out.onCompleted();
    return done;
  }

  /** The open exchange stream, opened now when there is none (or the last one ended). */
  private ExchangeStream exchange() {
    if (exchange == null || !exchange.isOpen()) {
      exchange = null;
      if (shared.exchangeSocket() != null) {
        try {
          exchange = ExchangeStream.connect(shared.exchangeSocket());
        } catch (IOException e) {
          options.log().accept("the server's exchange socket is not reachable (" + e.getMessage() + "); using the Exchange call");
        }
      }
      if (exchange == null) {
        exchange = ExchangeStream.open(channel, async.getCallOptions());
      }
    }
    return exchange;
  }

  private void closeExchange() {
    if (exchange != null) {
      exchange.close();
      exchange = null;
    }
  }

  private void leave(String reason, boolean fatal) {
    if (workerId == null) {
      return;
    }
    try {
      blocking
          .withDeadlineAfter(5, TimeUnit.SECONDS)
          .leave(LeaveRequest.newBuilder().setWorkerId(workerId).setReason(reason).setFatal(fatal).build());
    } catch (StatusRuntimeException e) {
      // the server is gone or already knows; leaving is best effort
    }
  }

  private <T> T call(String what, Supplier<T> rpc) {
    return calls.call(what, rpc);
  }

  private long deadlineMillis() {
    return options.rpcTimeout().toMillis();
  }
}
