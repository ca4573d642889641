package io.gradflow.common.wire;

import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;

/**
 * The observer of a call with one answer (a push, a seed): completes a future with the answer, with
 * {@code ifNone} when the call ends without one, or exceptionally with the call's error.
 */
public final class SingleAnswer {
  private SingleAnswer() {}

  public static <T> StreamObserver<T> into(CompletableFuture<T> done, T ifNone) {
    return new StreamObserver<>() {
      @Override
      public void onNext(T answer) {
        done.complete(answer);
      }

      @Override
      public void onError(Throwable t) {
        done.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {
        done.complete(ifNone);
      }
    };
  }
}
