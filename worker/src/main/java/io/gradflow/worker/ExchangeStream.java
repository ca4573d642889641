package io.gradflow.worker;

import io.gradflow.common.wire.Rejoin;
import io.gradflow.proto.ExchangeReply;
import io.gradflow.proto.ExchangeRequest;
import io.gradflow.proto.ParameterServerGrpc;
import io.gradflow.proto.PullChunk;
import io.gradflow.proto.PullRequest;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.PushResponse;
import io.gradflow.proto.Refusal;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;

/**
 * The {@code Exchange} call of a worker on the shared-memory data plane: its pulls and pushes as
 * messages of one stream instead of two calls per step (a call costs hundreds of microseconds of
 * CPU on each side; a message on an open stream a fraction of that). At most one pull and one push
 * are in flight; each reply goes to the one waiting for it. A refusal fails only the request it
 * answers, with the Status the call would have ended with; a broken stream fails both, and the
 * worker opens a new one for its next request.
 */
final class ExchangeStream implements ClientResponseObserver<ExchangeRequest, ExchangeReply> {
  private ClientCallStreamObserver<ExchangeRequest> requests;
  private StreamObserver<PullChunk> pull;
  private CompletableFuture<PushResponse> push;
  private boolean closed;

  private ExchangeStream() {}

  /** Opens the stream on {@code channel} with the stub's call options (its credentials). */
  static ExchangeStream open(Channel channel, CallOptions options) {
    ExchangeStream stream = new ExchangeStream();
    ClientCalls.asyncBidiStreamingCall(channel.newCall(ParameterServerGrpc.getExchangeMethod(), options), stream);
    return stream;
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<ExchangeRequest> requestStream) {
    requests = requestStream;
  }

  /** Asks for {@code request}; the answer arrives at {@code answer} as a pull call's header and end. */
  void pull(PullRequest request, StreamObserver<PullChunk> answer) {
    synchronized (this) {
      if (!closed) {
        pull = answer;
        requests.onNext(ExchangeRequest.newBuilder().setPull(request).build());
        return;
      }
    }
    answer.onError(ended());
  }

  /** Sends {@code header} (its sums are in the push file); the future completes with the acknowledgement. */
  CompletableFuture<PushResponse> push(PushHeader header) {
    CompletableFuture<PushResponse> acknowledged = new CompletableFuture<>();
    synchronized (this) {
      if (!closed) {
        push = acknowledged;
        requests.onNext(ExchangeRequest.newBuilder().setPush(header).build());
        return acknowledged;
      }
    }
    acknowledged.completeExceptionally(ended());
    return acknowledged;
  }

  synchronized boolean isOpen() {
    return !closed;
  }

  /** Ends the stream: the server drops a pull still waiting; anything in flight fails. */
  void close() {
    boolean wasOpen;
    synchronized (this) {
      wasOpen = !closed;
    }
    if (wasOpen) {
      requests.cancel("closed by the worker", null);
      failAll(ended());
    }
  }

  @Override
  public void onNext(ExchangeReply reply) {
    switch (reply.getPartCase()) {
      case WEIGHTS -> {
        StreamObserver<PullChunk> answer = takePull();
        if (answer != null) {
          answer.onNext(PullChunk.newBuilder().setHeader(reply.getWeights()).build());
          answer.onCompleted();
        }
      }
      case PUSHED -> {
        CompletableFuture<PushResponse> acknowledged = takePush();
        if (acknowledged != null) {
          acknowledged.complete(reply.getPushed());
        }
      }
      case REFUSED -> {
        Refusal r = reply.getRefused();
        StatusRuntimeException e = r.getRejoin()
            ? Rejoin.asked(r.getDescription())
            : Status.fromCodeValue(r.getCode()).withDescription(r.getDescription()).asRuntimeException();
        if (r.getPush()) {
          CompletableFuture<PushResponse> acknowledged = takePush();
          if (acknowledged != null) {
            acknowledged.completeExceptionally(e);
          }
        } else {
          StreamObserver<PullChunk> answer = takePull();
          if (answer != null) {
            answer.onError(e);
          }
        }
      }
      default -> { } // a newer server's reply this worker does not know: nothing waits for it
    }
  }

  @Override
  public void onError(Throwable t) {
    failAll(t instanceof StatusRuntimeException e ? e : Status.fromThrowable(t).asRuntimeException());
  }

  @Override
  public void onCompleted() {
    failAll(ended());
  }

  private synchronized StreamObserver<PullChunk> takePull() {
    StreamObserver<PullChunk> answer = pull;
    pull = null;
    return answer;
  }

  private synchronized CompletableFuture<PushResponse> takePush() {
    CompletableFuture<PushResponse> acknowledged = push;
    push = null;
    return acknowledged;
  }

  private void failAll(StatusRuntimeException e) {
    StreamObserver<PullChunk> answer;
    CompletableFuture<PushResponse> acknowledged;
    synchronized (this) {
      closed = true;
      answer = takePull();
      acknowledged = takePush();
    }
    if (answer != null) {
      answer.onError(e);
    }
    if (acknowledged != null) {
      acknowledged.completeExceptionally(e);
    }
  }

  private static StatusRuntimeException ended() {
    return Status.UNAVAILABLE.withDescription("the exchange stream ended").asRuntimeException();
  }
}
