package io.gradflow.common.wire;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * The server's way of telling a worker that it does not know it (the server restarted, or
 * declared the worker lost): FAILED_PRECONDITION with the trailer {@code gradflow-rejoin: 1}.
 * The worker then joins again and continues; any other FAILED_PRECONDITION is a refusal.
 */
public final class Rejoin {
  /** The trailer that marks a "join again" refusal. */
  public static final Metadata.Key<String> KEY =
      Metadata.Key.of("gradflow-rejoin", Metadata.ASCII_STRING_MARSHALLER);

  private Rejoin() {}

  /** A FAILED_PRECONDITION that asks the worker to join again. */
  public static StatusRuntimeException asked(String description) {
    Metadata trailers = new Metadata();
    trailers.put(KEY, "1");
    return Status.FAILED_PRECONDITION.withDescription(description).asRuntimeException(trailers);
  }

  /** True when {@code e} asks the worker to join again. */
  public static boolean isAsked(Throwable e) {
    Metadata trailers = Status.trailersFromThrowable(e);
    return trailers != null && "1".equals(trailers.get(KEY));
  }
}
