package io.gradflow.worker;

import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.wire.PushCodec;
import io.gradflow.proto.PullRequest;
import io.gradflow.proto.PushChunk;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.PushResponse;
import io.gradflow.proto.TensorChunk;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A worker's pushes: a computed step's sums written into the push file or encoded ({@link
 * PushCodec}), sent with the pull of the next step's weights, and their acknowledgement awaited,
 * sent again while the server is unreachable. Every send clears the sums after, for the step that
 * computes into them next.
 */
final class Pushes {
  private final ServerLink link;
  private final ServerCalls calls;

  Pushes(ServerLink link, ServerCalls calls) {
    this.link = link;
    this.calls = calls;
  }

  /** A step's gradient, computed: the micro-shards its push {@code header} names, summed in {@code sum}. */
  record Computed(ExactGradientSum sum, PushHeader.Builder header) {
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
   * A push sent and not yet acknowledged (its chunks kept to send it again; with sharded servers
   * also every server's, {@code rangeChunks}), the pull asked for after it, and how long the send
   * took this thread ({@code sendNanos}: writing or encoding, and sending).
   */
  record InFlight(long step, PushHeader.Builder header, List<TensorChunk> chunks,
      List<List<TensorChunk>> rangeChunks, CompletableFuture<PushResponse> sent, WeightsPull next, long sendNanos) {
    /** This push with {@code pull} as the pull asked for after it. */
    InFlight withNext(WeightsPull pull) {
      return new InFlight(step, header, chunks, rangeChunks, sent, pull, sendNanos);
    }
  }

  /**
   * On the push thread (or the worker's): writes {@code push}'s sums into the push file, sends its
   * header and, when {@code nextPull} is not null, that pull, in one write on {@code stream}, then
   * clears the sums for their next step. Only the worker's thread reads the replies.
   */
  InFlight writeAndSend(Computed push, ExchangeStream stream, PullRequest nextPull, Network net) {
    long start = System.nanoTime();
    link.shared().push().write(push.sum()); // the server acknowledged the previous push: it no longer reads the file
    CompletableFuture<PushResponse> sent;
    WeightsPull next = null;
    if (nextPull == null) {
      sent = stream.push(push.header().build());
    } else {
      stream.hold();
      try {
        sent = stream.push(push.header().build());
        next = link.askPull(nextPull, net, stream);
      } finally {
        stream.release();
      }
    }
    push.sum().spend(); // counts as zero: the next compute stores into it without a clearing pass
    return new InFlight(push.step(), push.header(), List.of(), null, sent, next, System.nanoTime() - start);
  }

  /**
   * Pushes {@code push} on this thread in the encoding its header names ({@link PushCodec} chose
   * it): one micro-shard as its float32 gradient ({@code single}), several as their packed
   * fixed-point sum, or, in a job with push precision bf16, the sum rounded once to bfloat16; on
   * the shared-memory plane the sums go into the push file. Spends the sums after: they count as
   * zero, and the next compute stores into them.
   * Non-finite gradients never get here: the fixed-point sum refused them during the compute.
   * Returns the push in flight with the pull of the next step's weights: {@code asked} when it was
   * asked for before this step computed, else asked for now (before the push with staleness, after
   * it without); {@link #acknowledged} waits for the acknowledgement. On the shared-memory plane a
   * pull with staleness is always asked before the step computes ({@code asked}), and one asked now
   * follows the push in its write ({@link #writeAndSend}).
   */
  InFlight push(Computed push, Gradients single, Network net, boolean pullFirst, WeightsPull asked) {
    PushHeader.Builder header = push.header();
    PushHeader.Encoding encoding = header.getEncoding();
    if (encoding == PushHeader.Encoding.SHARED_FIXED64) {
      PullRequest after = asked == null ? link.pullRequest(push.step() + 1, push.first(), push.end()) : null;
      InFlight sent = writeAndSend(push, link.exchange(), after, net);
      return asked == null ? sent : sent.withNext(asked);
    }
    long start = System.nanoTime();
    List<TensorChunk> chunks;
    List<List<TensorChunk>> rangeChunks = null;
    if (link.ranges() != null) {
      rangeChunks = link.ranges().chunks(encoding, push.sum(), single);
      chunks = rangeChunks.get(0);
    } else {
      chunks = PushCodec.encode(encoding, push.sum(), single);
    }
    // With staleness the next step's weights exist already: ask for them before the push, so the
    // server answers the pull before it reduces the push and updates (one connection's calls are
    // handled in order), and this step's reduce and update overlap the next step's compute.
    WeightsPull early = asked != null ? asked : pullFirst ? link.askPull(push.step() + 1, push.first(), push.end(), net) : null;
    // Otherwise ask for the next weights right after the push: the server answers the moment the
    // step closes, while the push's acknowledgement travels back, instead of one round trip after it.
    CompletableFuture<PushResponse> sent = send(header.build(), chunks, rangeChunks);
    WeightsPull next = early != null ? early : link.askPull(push.step() + 1, push.first(), push.end(), net);
    long sendNanos = System.nanoTime() - start;
    // The push is in its chunks now: the sums count as zero for the next step, whose compute
    // stores into them without a clearing pass.
    push.sum().spend();
    return new InFlight(push.step(), header, chunks, rangeChunks, sent, next, sendNanos);
  }

  /**
   * Waits for the acknowledgement of {@code push} (null: nothing to wait for), sending it again
   * while the server is unreachable; when it fails for good the pull asked for after it is
   * cancelled. Returns null.
   */
  InFlight acknowledged(InFlight push) {
    if (push == null) {
      return null;
    }
    String what = "push of step " + (push.step() + 1);
    boolean viaMemory = push.header().getEncoding() == PushHeader.Encoding.SHARED_FIXED64;
    long timeoutMillis = link.deadlineMillis() + 1000;
    boolean[] firstTry = {true};
    try {
      calls.call("push", () -> {
        try {
          if (firstTry[0]) {
            firstTry[0] = false;
            return ServerCalls.awaitReply(viaMemory ? link.currentExchange() : null, push.sent(), what, timeoutMillis);
          }
          return ServerCalls.awaitFuture(send(push.header().setWorkerId(link.workerId()).build(), push.chunks(),
              push.rangeChunks()), what, timeoutMillis);
        } catch (RuntimeException e) {
          if (viaMemory) {
            link.closeExchange(); // the retry, if any, goes on a new stream
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
  private CompletableFuture<PushResponse> send(PushHeader header, List<TensorChunk> chunks, List<List<TensorChunk>> rangeChunks) {
    if (header.getEncoding() == PushHeader.Encoding.SHARED_FIXED64) {
      return link.exchange().push(header);
    }
    CompletableFuture<PushResponse> done = new CompletableFuture<>();
    StreamObserver<PushChunk> out =
        link.async()
            .withDeadlineAfter(link.deadlineMillis(), TimeUnit.MILLISECONDS)
            .pushGradients(RangeExchange.answer(done));
    out.onNext(PushChunk.newBuilder().setHeader(header).build());
    for (TensorChunk c : chunks) {
      out.onNext(PushChunk.newBuilder().setChunk(c).build());
    }
    if (rangeChunks != null) {
      return link.ranges().push(header, rangeChunks, out, done, link.deadlineMillis());
    }
    out.onCompleted();
    return done;
  }
}
