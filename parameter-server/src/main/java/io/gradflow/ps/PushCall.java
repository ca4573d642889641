package io.gradflow.ps;

import io.gradflow.common.wire.ExchangeMethods;
import io.gradflow.proto.PushChunk;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.PushResponse;
import io.gradflow.proto.TensorChunk;
import io.grpc.stub.StreamObserver;

/**
 * One PushGradients call, the same on the coordinator and on a follower: the header begins a push
 * session, each chunk is staged into it, the end commits it; a refused header or chunk aborts the
 * session and ends the call with its Status, and a call the worker breaks off aborts it too, so
 * nothing of a push counts until it is committed whole. Each chunk's bytes are released once
 * staged or refused.
 *
 * @param <S> the server's push session
 */
final class PushCall<S> implements StreamObserver<PushChunk> {
  /** What a server does with a push's parts. */
  interface Pushes<S> {
    S begin(PushHeader header);

    void addChunk(S session, TensorChunk chunk);

    void abort(S session);

    PushResponse commit(S session);
  }

  private final Pushes<S> pushes;
  private final StreamObserver<PushResponse> response;
  private S session;
  private boolean failed;

  PushCall(Pushes<S> pushes, StreamObserver<PushResponse> response) {
    this.pushes = pushes;
    this.response = response;
  }

  @Override
  public void onNext(PushChunk chunk) {
    try {
      receive(chunk);
    } finally {
      ExchangeMethods.PUSH_CHUNKS.release(chunk); // staged or refused: its bytes are no longer read
    }
  }

  private void receive(PushChunk chunk) {
    if (failed) {
      return;
    }
    try {
      if (session == null) {
        if (!chunk.hasHeader()) {
          throw JobRefusal.badRequest("a push starts with its header, got a chunk");
        }
        session = pushes.begin(chunk.getHeader());
      } else if (chunk.hasChunk()) {
        pushes.addChunk(session, chunk.getChunk());
      } else {
        throw JobRefusal.badRequest("a push has one header, got a second");
      }
    } catch (RuntimeException e) {
      failed = true;
      if (session != null) {
        pushes.abort(session);
      }
      response.onError(RefusalStatus.of(e));
    }
  }

  @Override
  public void onError(Throwable t) {
    if (session != null && !failed) {
      pushes.abort(session);
    }
  }

  @Override
  public void onCompleted() {
    if (failed) {
      return;
    }
    if (session == null) {
      response.onError(RefusalStatus.of(JobRefusal.badRequest("empty push")));
      return;
    }
    PushResponse r;
    try {
      r = pushes.commit(session);
    } catch (RuntimeException e) {
      response.onError(RefusalStatus.of(e));
      return;
    }
    response.onNext(r);
    response.onCompleted();
  }
}
