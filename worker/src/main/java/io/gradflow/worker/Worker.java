package io.gradflow.worker;

import io.gradflow.common.data.Dataset;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.wire.PushCodec;
import io.gradflow.common.wire.PushPrecision;
import io.gradflow.proto.JoinRequest;
import io.gradflow.proto.PullRequest;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.WeightsHeader;
import io.grpc.Channel;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A worker: joins the parameter server and loads the job's data set ({@link JobJoin}), then loops:
 * pull the weights of the next step with the micro-shards it must compute, compute their gradients,
 * push their exact fixed-point sum. Every call has a deadline. It sends heartbeats while it lives; when the server
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

  private final Options options;
  private final ServerCalls calls;
  private final ServerLink link;
  private final Pushes pushes;
  private final JobJoin joins;
  /** Sends pushes while the next step computes; made at the first such push. */
  private PushThread pushThread;

  public Worker(Channel channel, Options options) {
    this.options = options;
    this.calls = new ServerCalls(options.reconnect(), options.log());
    this.link = new ServerLink(channel, options.rpcTimeout().toMillis(), options.log());
    this.pushes = new Pushes(link, calls);
    this.joins = new JobJoin(options, calls, link);
  }

  /**
   * A job with sharded servers: {@code followers} reach servers 1..S-1 in order (the channel given
   * to the constructor reaches server 0, the coordinator). See {@link RangeExchange}.
   */
  public Worker rangeServers(List<Channel> followers) {
    joins.rangeServers(followers);
    return this;
  }

  /**
   * {@code check} sees the server's job (model and training config) at each join (a restarted
   * server may have another job), before the training data is loaded at the first; an exception
   * it throws makes this worker leave the job and is thrown by {@link #run}.
   */
  public Worker jobCheck(BiConsumer<ModelSpec, TrainingConfig> check) {
    joins.jobCheck(check);
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
    link.heartbeat(Math.max(1000, options.heartbeat().toMillis() * 2));
  }

  /** Timings of the current step, sent with its push. */
  private long pullWaitNanos;
  private long pullTransferNanos;
  private long computeNanos;
  private long lastPushNanos;
  /** Time spent waiting for push acknowledgements since the last pull's answer. */
  private long ackWaitNanos;

  /**
   * The loop. Without staleness a push is acknowledged before the next step's weights are used.
   * With staleness K >= 1 the server answers the next pull at once (the next step computes on older
   * weights), so the worker computes step t + 1 while step t's push is acknowledged, and checks that
   * acknowledgement only before its next push (or before it asks again for work). On the
   * shared-memory plane it also sends step t's push on its {@link PushThread} while it computes
   * step t + 1 ({@link JobJoin.Joined#overlapsPushes}): the push waits, computed, until the weights
   * of step t + 1 are in the network, then goes with the pull of step t + 2, and the next step
   * computes into the other of the two sums.
   */
  private Result train() {
    JobJoin.Joined job = joins.untilReady();
    long want = job.response().getNextStep();
    long computed = 0;
    WeightsPull next = null;
    Pushes.InFlight unacknowledged = null;
    Pushes.Computed pending = null; // overlapped pushes: computed, not yet sent
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
            unacknowledged = pushes.acknowledged(unacknowledged); // a pull without the in-flight range must not get it back
          }
          case DONE -> {
            job.shards().close();
            link.closeExchange();
            link.leave("", false);
            options.log().accept("job done after step " + header.getStep());
            return new Result(job.response().getRank(), computed, header.getStep());
          }
          case READY -> {
            long step = header.getStep();
            Future<Pushes.InFlight> sending = null;
            if (pending != null) {
              // step t - 1's push leaves now, with the pull of step t + 1, while this step computes
              Pushes.Computed push = pending;
              ExchangeStream stream = link.exchange();
              PullRequest ask = link.pullRequest(step + 1, header.getShardFirst(), header.getShardEnd());
              long handOver = System.nanoTime();
              Network net = job.net();
              sending = pushThread().start(() -> pushes.writeAndSend(push, stream, ask, net));
              pending = null;
              lastPushNanos = System.nanoTime() - handOver;
            } else if (job.config().staleness() > 0 && link.shared() != null) {
              // Ask for step t + 1 before computing step t: its weights (version t + 1 - K) appear
              // when step t - K closes, while this step computes. (The weights are copied from
              // the shared file only when the answer is awaited, so the network is not touched.)
              next = link.askPull(step + 1, header.getShardFirst(), header.getShardEnd(), job.net());
            }
            long computeStart = System.nanoTime();
            try {
              job.shards().compute(job.net(), step, header.getShardFirst(), header.getShardEnd(), sum, job.shardLoss());
            } catch (ExactGradientSum.NonFiniteGradientException e) {
              String reason = "step " + (step + 1) + ", micro-shards [" + header.getShardFirst() + ", "
                  + header.getShardEnd() + "): " + e.getMessage() + "; the training diverged: try a lower --lr";
              if (sending != null) {
                sending.cancel(false);
              }
              link.leave(reason, true);
              // "the job stopped: ": this worker stopped it, a launcher starts no replacement for it
              throw new WorkerFailure(WorkerFailure.Kind.FAILED, "the job stopped: " + reason);
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
              unacknowledged = pushes.acknowledged(unacknowledged);
              pullWaitNanos += System.nanoTime() - ackStart;
            }
            ServerCalls.sleep(options.pushDelayMillis().getAsLong());
            Pushes.Computed done = new Pushes.Computed(sum,
                pushHeader(step, header.getShardFirst(), header.getShardEnd(), job.config().pushPrecision(), job.shardLoss()));
            if (job.overlapsPushes()) {
              pending = done;
              sum = sum == job.sum() ? job.spare() : job.sum();
            } else {
              Pushes.InFlight sent = pushes.push(done, job.shards().lastShard(), job.net(), job.config().staleness() > 0, next);
              lastPushNanos = sent.sendNanos();
              next = sent.next();
              if (job.config().staleness() == 0) {
                long ackStart = System.nanoTime();
                pushes.acknowledged(sent);
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
        job = joins.untilReady();
        sum = job.sum();
        want = job.response().getNextStep();
      }
    }
  }

  private PushThread pushThread() {
    if (pushThread == null) {
      pushThread = new PushThread();
    }
    return pushThread;
  }

  /** Sends a computed push on this thread, without a pull. */
  private Pushes.InFlight sendNow(Pushes.Computed push, Network net) {
    Pushes.InFlight sent = pushes.writeAndSend(push, link.exchange(), null, net);
    lastPushNanos = sent.sendNanos();
    return sent;
  }

  /** Pulls step {@code >= want}; on READY the weights are written into {@code net}. */
  private WeightsHeader pull(long want, Network net) {
    return call("pull", () -> await(link.askPull(want, 0, 0, net)));
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
      return await(link.askPull(want, pushedFirst, pushedEnd, net));
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
    boolean viaMemory = link.shared() != null && precision != PushPrecision.BF16;
    PushHeader.Encoding encoding = viaMemory ? PushHeader.Encoding.SHARED_FIXED64 : PushCodec.encodingFor(precision, end - first);
    PushHeader.Builder header =
        PushHeader.newBuilder()
            .setWorkerId(link.workerId())
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

  private <T> T call(String what, Supplier<T> rpc) {
    return calls.call(what, rpc);
  }
}
