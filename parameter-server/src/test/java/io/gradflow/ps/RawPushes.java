package io.gradflow.ps;

import io.gradflow.proto.ParameterServerGrpc;
import io.gradflow.proto.PushChunk;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.PushResponse;
import io.gradflow.proto.TensorChunk;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** Pushes as a test writes them by hand: a header and chunks on one PushGradients call. */
final class RawPushes {
  private RawPushes() {}

  /** Sends a push and returns its answer, or throws the StatusRuntimeException it ended with. */
  static PushResponse push(ParameterServerGrpc.ParameterServerStub stub, PushHeader header, List<TensorChunk> chunks)
      throws Exception {
    CompletableFuture<PushResponse> done = new CompletableFuture<>();
    StreamObserver<PushChunk> out = stub.withDeadlineAfter(20, TimeUnit.SECONDS).pushGradients(answerInto(done));
    out.onNext(PushChunk.newBuilder().setHeader(header).build());
    for (TensorChunk c : chunks) {
      out.onNext(PushChunk.newBuilder().setChunk(c).build());
    }
    out.onCompleted();
    return await(done);
  }

  /** An observer that completes {@code done} with the server's answer or its failure. */
  static StreamObserver<PushResponse> answerInto(CompletableFuture<PushResponse> done) {
    return new StreamObserver<>() {
      @Override
      public void onNext(PushResponse r) {
        done.complete(r);
      }

      @Override
      public void onError(Throwable t) {
        done.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {}
    };
  }

  /** The answer, or the StatusRuntimeException the call ended with. */
  static PushResponse await(CompletableFuture<PushResponse> done) throws Exception {
    try {
      return done.get(20, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw (StatusRuntimeException) e.getCause();
    }
  }
}
