package io.gradflow.ps;

import io.gradflow.common.wire.Rejoin;
import io.gradflow.proto.ExchangeReply;
import io.gradflow.proto.ExchangeRequest;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.PushResponse;
import io.gradflow.proto.Refusal;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;

/**
 * One {@code Exchange} call: the pulls and pushes of a worker on the shared-memory data plane as
 * messages of one stream, handled in order as the separate calls are. A push is begun, read from
 * the worker's push file, checked and committed in one go; a pull is answered when its step opens
 * (from whichever thread opens it, so replies are sent under this session's lock). A refusal is a
 * {@link Refusal} reply with the Status the call would have ended with, and the stream goes on.
 */
final class ExchangeSession implements StreamObserver<ExchangeRequest> {
  private final StepCoordinator coordinator;
  private final StreamObserver<ExchangeReply> out;
  private PullAnswer waiting;
  private boolean ended;

  ExchangeSession(StepCoordinator coordinator, StreamObserver<ExchangeReply> out) {
    this.coordinator = coordinator;
    this.out = out;
  }

  @Override
  public void onNext(ExchangeRequest request) {
    switch (request.getPartCase()) {
      case PULL -> pull(request);
      case PUSH -> push(request.getPush());
      default -> send(refused(true, RefusalStatus.of(JobRefusal.badRequest("an exchange request holds a pull or a push"))));
    }
  }

  private void pull(ExchangeRequest request) {
    PullAnswer answer =
        new PullAnswer() {
          @Override
          public void answer(Pull pull) {
            answered(this);
            if (!pull.weights().isEmpty()) {
              send(refused(false, RefusalStatus.of(JobRefusal.refused(
                  "the exchange stream is for workers on the shared-memory data plane; pull the weights with PullWeights"))));
              return;
            }
            send(ExchangeReply.newBuilder().setWeights(ParameterService.header(pull, 0)).build());
          }

          @Override
          public void fail(JobRefusal refusal) {
            answered(this);
            send(refused(false, RefusalStatus.of(refusal)));
          }
        };
    synchronized (this) {
      waiting = answer;
    }
    try {
      coordinator.pull(request.getPull(), ParameterService.PULL_WAIT_MILLIS, answer);
    } catch (RuntimeException e) {
      answered(answer);
      send(refused(false, RefusalStatus.of(e)));
    }
  }

  private synchronized void answered(PullAnswer answer) {
    if (waiting == answer) {
      waiting = null;
    }
  }

  private void push(PushHeader header) {
    PushSession session = null;
    PushResponse response;
    try {
      if (header.getEncoding() != PushHeader.Encoding.SHARED_FIXED64) {
        throw JobRefusal.badRequest("a push on the exchange stream has encoding SHARED_FIXED64, got " + header.getEncoding());
      }
      session = coordinator.beginPush(header);
      session.readShared();
    } catch (RuntimeException e) {
      if (session != null) {
        coordinator.abortPush(session);
      }
      send(refused(true, RefusalStatus.of(e)));
      return;
    }
    try {
      response = coordinator.commitPush(session);
    } catch (RuntimeException e) {
      send(refused(true, RefusalStatus.of(e)));
      return;
    }
    send(ExchangeReply.newBuilder().setPushed(response).build());
  }

  private static ExchangeReply refused(boolean push, StatusRuntimeException e) {
    Status status = e.getStatus();
    return ExchangeReply.newBuilder()
        .setRefused(Refusal.newBuilder()
            .setPush(push)
            .setCode(status.getCode().value())
            .setDescription(status.getDescription() == null ? "" : status.getDescription())
            .setRejoin(Rejoin.isAsked(e)))
        .build();
  }

  private synchronized void send(ExchangeReply reply) {
    if (!ended) {
      out.onNext(reply);
    }
  }

  /** The worker went away or cancelled: its waiting pull is dropped. */
  void cancelled() {
    PullAnswer pending;
    synchronized (this) {
      ended = true;
      pending = waiting;
      waiting = null;
    }
    if (pending != null) {
      coordinator.cancelPull(pending);
    }
  }

  @Override
  public void onError(Throwable t) {
    cancelled();
  }

  @Override
  public void onCompleted() {
    cancelled();
    synchronized (this) {
      out.onCompleted();
    }
  }
}
