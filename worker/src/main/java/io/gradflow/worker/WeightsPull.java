package io.gradflow.worker;

import io.gradflow.common.model.Network;
import io.gradflow.common.wire.ExchangeMethods;
import io.gradflow.common.wire.TensorChunks;
import io.gradflow.proto.PullChunk;
import io.gradflow.proto.PullRequest;
import io.gradflow.proto.TensorChunk;
import io.gradflow.proto.WeightsHeader;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A worker's pull of a step's weights, in flight. On the exchange stream of the shared-memory
 * plane the answer is a header and the weights are copied out of the shared file when it is
 * awaited; on a PullWeights call of its own the chunks are decoded into the network's weights as
 * they arrive, on the transport's thread, so the caller must not use the network until {@link
 * #await()} returned. With sharded servers the followers' ranges are asked for at the same time
 * ({@link RangeExchange}).
 */
final class WeightsPull implements ClientResponseObserver<PullRequest, PullChunk> {
  private final Network net;
  private final SharedMemoryLink shared;
  private final RangeExchange ranges;
  private final String workerId;
  private final long deadlineMillis;
  private final long[] received;
  private final CompletableFuture<WeightsHeader> done = new CompletableFuture<>();
  private ClientCallStreamObserver<PullRequest> call;
  private WeightsHeader header;
  private long headerAt;
  private String broken;
  /** The exchange stream this pull was asked on, or null: a call of its own. */
  private final ExchangeStream stream;
  /** Sharded servers: the followers' pulls of step {@code want}, asked together with this one. */
  private final RangeExchange.FollowerPulls followerPulls;

  /** When {@link #await()} began, when the header came, when the weights were in the network (0: not yet). */
  private long awaitStart;
  private long weightsAt;

  /**
   * Sends {@code request}: on {@code stream} when the worker has the shared-memory plane mapped
   * ({@code shared} not null), else as a call of its own on {@code channel}.
   */
  WeightsPull(PullRequest request, Network net, SharedMemoryLink shared, ExchangeStream stream, Channel channel,
      CallOptions callOptions, RangeExchange ranges, long deadlineMillis) {
    this.net = net;
    this.received = new long[net.tensorCount()];
    this.shared = shared;
    this.ranges = ranges;
    this.workerId = request.getWorkerId();
    this.deadlineMillis = deadlineMillis;
    this.stream = stream;
    if (stream != null) {
      stream.pull(request, this);
    } else {
      ClientCalls.asyncServerStreamingCall(
          channel.newCall(ExchangeMethods.PULL, callOptions.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS)),
          request, this);
    }
    followerPulls = ranges == null ? null : ranges.askFollowers(workerId, request.getStep(), net, deadlineMillis);
  }

  /**
   * Whether the answer (or the pull's failure) is here, without waiting: on the exchange socket it
   * reads the replies that arrived so far.
   */
  boolean answered() {
    if (stream != null) {
      stream.awaitReplies(done, 0);
    }
    return done.isDone();
  }

  /** Whether the last {@link #await()} put a step's weights into the network. */
  boolean weightsArrived() {
    return weightsAt != 0;
  }

  /** The time between asking for the answer and its header (0 when it was there already). */
  long waitedNanos() {
    return Math.max(0, headerAt - awaitStart);
  }

  /** The time from the header (or from asking for it, when it was there already) to the weights in the network. */
  long transferNanos() {
    return weightsAt - Math.max(headerAt, awaitStart);
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<PullRequest> requestStream) {
    call = requestStream;
  }

  @Override
  public void onNext(PullChunk chunk) {
    try {
      receive(chunk);
    } finally {
      ExchangeMethods.PULL_CHUNKS.release(chunk); // copied into the network: its bytes are no longer read
    }
  }

  private void receive(PullChunk chunk) {
    if (header == null) {
      header = chunk.getHeader();
      headerAt = System.nanoTime();
      return;
    }
    if (broken != null) {
      return;
    }
    TensorChunk c = chunk.getChunk();
    int t = c.getTensor();
    if (t < 0 || t >= net.tensorCount() || c.getOffset() < 0
        || c.getOffset() + c.getData().size() / 4 > net.tensor(t).length) {
      broken = "the server sent a weights chunk that does not fit the model";
      return;
    }
    TensorChunks.readFloats(c, net.tensor(t));
    received[t] += c.getData().size() / 4;
  }

  @Override
  public void onError(Throwable t) {
    done.completeExceptionally(t);
  }

  @Override
  public void onCompleted() {
    if (header == null) {
      broken = "the server sent an empty pull answer";
    }
    done.complete(header);
  }

  /** Gives up the pull (its answer is no longer wanted). */
  void cancel() {
    if (stream != null) {
      stream.close(); // its answer would otherwise come on the stream in place of the next pull's
    } else if (call != null) {
      call.cancel("not needed", null);
    }
    if (followerPulls != null) {
      followerPulls.cancel();
    }
  }

  /**
   * Waits for the whole answer; on READY the weights are in the network. Weights in shared
   * memory are copied here; when the server overwrote them meanwhile (this worker fell two steps
   * behind), the answer becomes NOT_YET for the next step, and the worker asks again.
   */
  WeightsHeader await() {
    awaitStart = System.nanoTime();
    weightsAt = 0;
    WeightsHeader h;
    try {
      h = ServerCalls.awaitReply(stream, done, "pull", deadlineMillis + 1000);
    } catch (RuntimeException e) {
      if (stream != null) {
        stream.close(); // a refusal leaves the stream usable, but after a timeout it may be stuck
      }
      if (followerPulls != null) {
        followerPulls.cancel();
      }
      throw e;
    }
    if (followerPulls != null && (broken != null || h.getState() != WeightsHeader.State.READY)) {
      followerPulls.cancel(); // no weights of this step wanted now
    }
    if (broken != null) {
      throw new WorkerFailure(WorkerFailure.Kind.FAILED, broken);
    }
    if (h.getState() == WeightsHeader.State.READY && h.getWeightsInSharedMemory()) {
      if (shared == null) {
        throw new WorkerFailure(WorkerFailure.Kind.FAILED, "the server sent the weights of step " + (h.getStep() + 1)
            + " through shared memory, which this worker has not mapped");
      }
      if (!shared.weights().read(h.getWeightsVersion(), net)) {
        return WeightsHeader.newBuilder().setState(WeightsHeader.State.NOT_YET).setStep(h.getStep() + 1).build();
      }
      weightsAt = System.nanoTime();
    } else if (h.getState() == WeightsHeader.State.READY) {
      for (int t = 0; t < received.length; t++) {
        int expected = ranges == null ? net.tensor(t).length : ranges.range(0).lengthIn(t);
        if (received[t] != expected) {
          throw new WorkerFailure(
              WorkerFailure.Kind.FAILED,
              "weights of step " + (h.getStep() + 1) + " arrived incomplete: " + Network.tensorName(t) + " has "
                  + received[t] + " of " + expected + " elements");
        }
      }
      if (ranges != null) {
        ranges.awaitFollowers(followerPulls, workerId, h.getStep(), net, deadlineMillis);
      }
      weightsAt = System.nanoTime();
    }
    return h;
  }
}
