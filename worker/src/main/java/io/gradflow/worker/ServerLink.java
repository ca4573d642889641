package io.gradflow.worker;

import io.gradflow.common.model.Network;
import io.gradflow.proto.HeartbeatRequest;
import io.gradflow.proto.JoinResponse;
import io.gradflow.proto.LeaveRequest;
import io.gradflow.proto.ParameterServerGrpc;
import io.gradflow.proto.PullRequest;
import io.grpc.Channel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A worker's way to the parameter server as of its last join: the gRPC channel and its stubs, the
 * id the server gave the worker, the server's shared-memory data plane with the exchange stream
 * on it, and the ranges of a job with sharded servers. Pulls are asked through it; {@link
 * Pushes} sends the pushes through it. The worker's thread uses it, and its push thread only while
 * the worker's thread waits for that push or computes (never both on the stream at once); the
 * heartbeat thread reads only the worker id.
 */
final class ServerLink {
  private final Channel channel;
  private final ParameterServerGrpc.ParameterServerBlockingStub blocking;
  private final ParameterServerGrpc.ParameterServerStub async;
  private final long deadlineMillis;
  private final Consumer<String> log;
  private volatile String workerId;
  /** The server's shared-memory data plane as mapped at the last join, or null: everything goes through the socket. */
  private SharedMemoryLink shared;
  /** With {@link #shared}: the stream that carries this worker's pulls and pushes, or null until the next one opens it. */
  private ExchangeStream exchange;
  /** The ranges this worker exchanges with the servers, as of the last join; null with one server. */
  private RangeExchange ranges;

  ServerLink(Channel channel, long deadlineMillis, Consumer<String> log) {
    this.channel = channel;
    this.blocking = ParameterServerGrpc.newBlockingStub(channel);
    this.async = ParameterServerGrpc.newStub(channel);
    this.deadlineMillis = deadlineMillis;
    this.log = log;
  }

  /** The blocking stub with the calls' deadline. */
  ParameterServerGrpc.ParameterServerBlockingStub blocking() {
    return blocking.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS);
  }

  /** The asynchronous stub, without a deadline (each call sets its own). */
  ParameterServerGrpc.ParameterServerStub async() {
    return async;
  }

  Channel channel() {
    return channel;
  }

  long deadlineMillis() {
    return deadlineMillis;
  }

  String workerId() {
    return workerId;
  }

  SharedMemoryLink shared() {
    return shared;
  }

  RangeExchange ranges() {
    return ranges;
  }

  /** Takes the worker id of the server's answer to a join: heartbeats carry it from now on. */
  void joined(JoinResponse r) {
    workerId = r.getWorkerId();
  }

  /**
   * Takes the rest of the server's answer to a join once the worker is about to be ready: the ranges
   * of sharded servers ({@code rangeServers} reach servers 1..S-1) and the shared-memory plane where
   * the server offers it; the stream of the previous join is closed.
   */
  void attach(JoinResponse r, Network net, List<Channel> rangeServers) {
    closeExchange();
    ranges = RangeExchange.forJob(r.getServers(), r.getServerGeneration(), net, rangeServers);
    shared = SharedMemoryLink.attach(r, net, log);
  }

  /** Tells the server this worker lives; failures are left to the main loop, which meets them on its next call. */
  void heartbeat(long timeoutMillis) {
    String id = workerId;
    if (id == null) {
      return;
    }
    try {
      blocking.withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS)
          .heartbeat(HeartbeatRequest.newBuilder().setWorkerId(id).build());
    } catch (StatusRuntimeException e) {
      // the main loop sees the same trouble on its next call and handles it there
    }
  }

  /** Leaves the job, best effort: {@code fatal} says the worker fails for {@code reason}. */
  void leave(String reason, boolean fatal) {
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

  /** The pull of step {@code >= want}, saying that micro-shards {@code [pushedFirst, pushedEnd)} of step {@code want - 1} are being pushed. */
  PullRequest pullRequest(long want, int pushedFirst, int pushedEnd) {
    return PullRequest.newBuilder()
        .setWorkerId(workerId).setStep(want).setPushedFirst(pushedFirst).setPushedEnd(pushedEnd).build();
  }

  /** Asks for step {@code >= want}; micro-shards {@code [pushedFirst, pushedEnd)} of step {@code want - 1} are being pushed. */
  WeightsPull askPull(long want, int pushedFirst, int pushedEnd, Network net) {
    return askPull(pullRequest(want, pushedFirst, pushedEnd), net, shared != null ? exchange() : null);
  }

  /** Sends {@code request} on {@code stream} (the shared-memory plane's), or as a call of its own when it is null. */
  WeightsPull askPull(PullRequest request, Network net, ExchangeStream stream) {
    return new WeightsPull(request, net, shared, stream, channel, async.getCallOptions(), ranges, deadlineMillis);
  }

  /** The open exchange stream, opened now when there is none (or the last one ended). */
  ExchangeStream exchange() {
    if (exchange == null || !exchange.isOpen()) {
      exchange = null;
      if (shared.exchangeSocket() != null) {
        try {
          exchange = ExchangeStream.connect(shared.exchangeSocket());
        } catch (IOException e) {
          log.accept("the server's exchange socket is not reachable (" + e.getMessage() + "); using the Exchange call");
        }
      }
      if (exchange == null) {
        exchange = ExchangeStream.open(channel, async.getCallOptions());
      }
    }
    return exchange;
  }

  /** The exchange stream as it is, possibly null or ended: for awaiting replies of what was sent on it. */
  ExchangeStream currentExchange() {
    return exchange;
  }

  void closeExchange() {
    if (exchange != null) {
      exchange.close();
      exchange = null;
    }
  }
}
