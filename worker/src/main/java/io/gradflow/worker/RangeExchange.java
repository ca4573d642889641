package io.gradflow.worker;

import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.wire.ExchangeMethods;
import io.gradflow.common.wire.ParameterRange;
import io.gradflow.common.wire.ParameterRanges;
import io.gradflow.common.wire.RangeChunks;
import io.gradflow.common.wire.TensorChunks;
import io.gradflow.proto.ParameterServerGrpc;
import io.gradflow.proto.PullChunk;
import io.gradflow.proto.PullRequest;
import io.gradflow.proto.PushChunk;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.PushResponse;
import io.gradflow.proto.TensorChunk;
import io.gradflow.proto.WeightsHeader;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A worker's side of a job with sharded servers: server i owns range i of the flattened parameters
 * ({@link ParameterRanges}); server 0, the coordinator, is the worker's main channel, servers 1..S-1
 * (the followers) are reached here. The worker asks every follower for its range of the step's
 * weights together with its pull at the coordinator, in parallel (and again when the coordinator's
 * READY names another step); a push goes to every server at once,
 * each with its range, and the coordinator's push is completed (half-closed, which is when the
 * coordinator counts it) only once every follower acknowledged its range: the coordinator never
 * counts micro-shards that a follower lacks, so a follower always has every micro-shard of a step
 * the coordinator closed.
 */
final class RangeExchange {
  private final List<ParameterRange> ranges;
  private final List<Channel> followers;
  /** The coordinator's generation (from the join): the followers take only pushes that carry it. */
  private final long generation;

  private RangeExchange(List<ParameterRange> ranges, long generation, List<Channel> followers) {
    this.ranges = ranges;
    this.generation = generation;
    this.followers = followers;
  }

  /**
   * The exchange of a job with {@code servers} servers of coordinator generation {@code generation}
   * (as the coordinator said at the join), or null for one server; {@code followers} are the
   * channels to servers 1..S-1.
   */
  static RangeExchange forJob(int servers, long generation, Network net, List<Channel> followers) {
    if (servers <= 1) {
      if (!followers.isEmpty()) {
        throw new WorkerFailure(WorkerFailure.Kind.REFUSED, "this worker was given " + followers.size()
            + " range server(s) (--range-server), but the job has one server, which owns every parameter");
      }
      return null;
    }
    if (followers.size() != servers - 1) {
      throw new WorkerFailure(WorkerFailure.Kind.REFUSED, "the job has " + servers + " sharded servers: expected "
          + (servers - 1) + " --range-server address(es) for servers 1.." + (servers - 1) + ", got " + followers.size());
    }
    return new RangeExchange(ParameterRanges.split(net.tensorLengths(), servers), generation, List.copyOf(followers));
  }

  /** The range server {@code i} owns. */
  ParameterRange range(int i) {
    return ranges.get(i);
  }

  /**
   * Pulls every follower's range of the weights of step {@code step} into {@code net}, in
   * parallel; a follower that answers NOT_YET is asked again. Rethrows a follower's gRPC failure as
   * is (the caller retries).
   */
  void pullFollowers(String workerId, long step, Network net, long deadlineMillis) {
    awaitAll(askFollowers(workerId, step, net, deadlineMillis), workerId, net, deadlineMillis);
  }

  /**
   * The followers' pulls of one step, asked for together with the coordinator's pull, before its
   * answer says which step it is: a follower answers as soon as it has that version (it waits for
   * the next one), so the ranges travel while the coordinator's answer does.
   */
  final class FollowerPulls {
    private final long step;
    private final List<RangePull> pulls;

    private FollowerPulls(long step, List<RangePull> pulls) {
      this.step = step;
      this.pulls = pulls;
    }

    /** Gives the pulls up and waits until none of them writes into the network any more. */
    void cancel() {
      for (RangePull p : pulls) {
        p.cancel();
      }
      for (RangePull p : pulls) {
        p.awaitEnd();
      }
    }
  }

  /** Asks every follower for its range of the weights of step {@code step}, in parallel; the chunks go into {@code net} as they arrive. */
  FollowerPulls askFollowers(String workerId, long step, Network net, long deadlineMillis) {
    List<RangePull> pulls = new ArrayList<>();
    for (int i = 0; i < followers.size(); i++) {
      pulls.add(new RangePull(i + 1, workerId, step, net, deadlineMillis));
    }
    return new FollowerPulls(step, pulls);
  }

  /**
   * The coordinator answered READY for step {@code step}: waits for the followers' ranges of it,
   * from {@code asked} when those pulls were of that step, else (another step, or none asked) from
   * new pulls once the others are given up. Rethrows a follower's gRPC failure as is (the caller
   * retries).
   */
  void awaitFollowers(FollowerPulls asked, String workerId, long step, Network net, long deadlineMillis) {
    if (asked != null && asked.step == step) {
      awaitAll(asked, workerId, net, deadlineMillis);
      return;
    }
    if (asked != null) {
      asked.cancel();
    }
    pullFollowers(workerId, step, net, deadlineMillis);
  }

  private void awaitAll(FollowerPulls asked, String workerId, Network net, long deadlineMillis) {
    try {
      awaitEach(asked, workerId, net, deadlineMillis);
    } catch (RuntimeException e) {
      asked.cancel(); // the others no longer write into the network
      throw e;
    }
  }

  private void awaitEach(FollowerPulls asked, String workerId, Network net, long deadlineMillis) {
    List<RangePull> pulls = asked.pulls;
    long step = asked.step;
    for (int i = 0; i < pulls.size(); i++) {
      RangePull p = pulls.get(i);
      while (true) {
        WeightsHeader h = p.await(deadlineMillis + 1000);
        if (h.getState() == WeightsHeader.State.READY) {
          break;
        }
        if (h.getState() != WeightsHeader.State.NOT_YET) {
          throw new WorkerFailure(WorkerFailure.Kind.FAILED, "server " + (i + 1) + " answered a pull of step " + (step + 1)
              + " with " + h.getState());
        }
        p = new RangePull(i + 1, workerId, step, net, deadlineMillis);
        pulls.set(i, p);
      }
    }
  }

  /** A push's chunks per server: {@code e} encoding of server i's range of the sums. */
  List<List<TensorChunk>> chunks(PushHeader.Encoding e, ExactGradientSum sum, Gradients single) {
    List<List<TensorChunk>> out = new ArrayList<>();
    for (ParameterRange r : ranges) {
      out.add(RangeChunks.push(e, r, sum, single));
    }
    return out;
  }

  /**
   * Sends the followers' parts of a push ({@code chunks.get(i)} to server i), and completes {@code
   * coordinator}, the coordinator's push stream with its chunks sent already, once every follower
   * acknowledged; when one fails, the coordinator's stream is cancelled. The returned future
   * completes with the coordinator's answer, or with the first failure.
   */
  CompletableFuture<PushResponse> push(PushHeader header, List<List<TensorChunk>> chunks, StreamObserver<PushChunk> coordinator,
      CompletableFuture<PushResponse> coordinatorAnswer, long deadlineMillis) {
    List<CompletableFuture<PushResponse>> acks = new ArrayList<>();
    PushHeader toFollowers = header.toBuilder().setServerGeneration(generation).build();
    for (int i = 0; i < followers.size(); i++) {
      acks.add(send(followers.get(i), toFollowers, chunks.get(i + 1), deadlineMillis));
    }
    CompletableFuture<PushResponse> result = new CompletableFuture<>();
    CompletableFuture.allOf(acks.toArray(new CompletableFuture<?>[0])).whenComplete((ok, failed) -> {
      if (failed != null) {
        coordinator.onError(Status.CANCELLED.withDescription("a follower refused the push").asRuntimeException());
        result.completeExceptionally(failed instanceof java.util.concurrent.CompletionException ? failed.getCause() : failed);
        return;
      }
      coordinator.onCompleted();
      coordinatorAnswer.whenComplete((r, e) -> {
        if (e != null) {
          result.completeExceptionally(e);
        } else {
          result.complete(r);
        }
      });
    });
    return result;
  }

  /** Sends a whole push to {@code channel}; the future completes with its answer. */
  private static CompletableFuture<PushResponse> send(Channel channel, PushHeader header, List<TensorChunk> chunks, long deadlineMillis) {
    CompletableFuture<PushResponse> done = new CompletableFuture<>();
    StreamObserver<PushChunk> out = ClientCalls.asyncClientStreamingCall(
        channel.newCall(ExchangeMethods.PUSH, CallOptions.DEFAULT.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS)),
        answer(done));
    out.onNext(PushChunk.newBuilder().setHeader(header).build());
    for (TensorChunk c : chunks) {
      out.onNext(PushChunk.newBuilder().setChunk(c).build());
    }
    out.onCompleted();
    return done;
  }

  /** An observer that completes {@code done} with a push's answer. */
  static StreamObserver<PushResponse> answer(CompletableFuture<PushResponse> done) {
    return io.gradflow.common.wire.SingleAnswer.into(done, PushResponse.getDefaultInstance());
  }

  /** One pull of a follower's range: its chunks go into the network as they arrive. */
  private final class RangePull implements StreamObserver<PullChunk> {
    private final int server;
    private final Network net;
    private final long step;
    private final long[] received;
    private final CompletableFuture<WeightsHeader> done = new CompletableFuture<>();
    private final io.grpc.ClientCall<PullRequest, PullChunk> call;
    private WeightsHeader header;
    private String broken;

    RangePull(int server, String workerId, long step, Network net, long deadlineMillis) {
      this.server = server;
      this.net = net;
      this.step = step;
      this.received = new long[net.tensorCount()];
      this.call = followers.get(server - 1).newCall(ExchangeMethods.PULL,
          CallOptions.DEFAULT.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS));
      ClientCalls.asyncServerStreamingCall(call, PullRequest.newBuilder().setWorkerId(workerId).setStep(step).build(), this);
    }

    void cancel() {
      call.cancel("not needed", null);
    }

    /** Waits until the call ended (after its last chunk was written), however it ended. */
    void awaitEnd() {
      try {
        done.handle((h, e) -> null).get(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new WorkerFailure(WorkerFailure.Kind.FAILED, "interrupted");
      } catch (ExecutionException | TimeoutException e) {
        throw new WorkerFailure(WorkerFailure.Kind.FAILED, "a pull from server " + server + " did not end after it was cancelled");
      }
    }

    @Override
    public void onNext(PullChunk chunk) {
      try {
        if (header == null) {
          header = chunk.getHeader();
          return;
        }
        TensorChunk c = chunk.getChunk();
        int t = c.getTensor();
        ParameterRange r = ranges.get(server);
        if (t < 0 || t >= net.tensorCount() || c.getOffset() < r.from()[t] || c.getOffset() + c.getData().size() / 4 > r.end()[t]) {
          broken = "server " + server + " sent a weights chunk outside its range";
          return;
        }
        TensorChunks.readFloats(c, net.tensor(t));
        received[t] += c.getData().size() / 4;
      } finally {
        ExchangeMethods.PULL_CHUNKS.release(chunk);
      }
    }

    @Override
    public void onError(Throwable t) {
      done.completeExceptionally(t);
    }

    @Override
    public void onCompleted() {
      if (header == null) {
        broken = "server " + server + " sent an empty pull answer";
      }
      done.complete(header);
    }

    WeightsHeader await(long timeoutMillis) {
      WeightsHeader h;
      try {
        h = done.get(timeoutMillis, TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        if (e.getCause() instanceof io.grpc.StatusRuntimeException sre) {
          throw sre;
        }
        throw new WorkerFailure(WorkerFailure.Kind.FAILED, "pull from server " + server + " failed: " + e.getCause(), e.getCause());
      } catch (TimeoutException e) {
        throw Status.DEADLINE_EXCEEDED.withDescription("pull from server " + server + " got no answer in time").asRuntimeException();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new WorkerFailure(WorkerFailure.Kind.FAILED, "interrupted");
      }
      if (broken != null) {
        throw new WorkerFailure(WorkerFailure.Kind.FAILED, broken);
      }
      if (h.getState() == WeightsHeader.State.READY) {
        ParameterRange r = ranges.get(server);
        for (int t = 0; t < received.length; t++) {
          if (received[t] != r.lengthIn(t)) {
            throw new WorkerFailure(WorkerFailure.Kind.FAILED, "weights of step " + (step + 1) + " from server " + server
                + " arrived incomplete: " + Network.tensorName(t) + " has " + received[t] + " of " + r.lengthIn(t) + " elements of its range");
          }
        }
      }
      return h;
    }
  }
}
