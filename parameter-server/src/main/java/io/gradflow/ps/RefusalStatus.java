package io.gradflow.ps;

import io.gradflow.common.wire.Rejoin;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** The one place where the server's failures become gRPC Status codes (used by {@link ParameterService}). */
final class RefusalStatus {
  private RefusalStatus() {}

  /** The Status a worker sees for {@code refusal}; a rejoin is FAILED_PRECONDITION with the {@link Rejoin} trailer. */
  static StatusRuntimeException of(JobRefusal refusal) {
    String why = refusal.getMessage();
    return switch (refusal.kind()) {
      case BAD_REQUEST -> Status.INVALID_ARGUMENT.withDescription(why).asRuntimeException();
      case REFUSED -> Status.FAILED_PRECONDITION.withDescription(why).asRuntimeException();
      case JOB_FULL -> Status.RESOURCE_EXHAUSTED.withDescription(why).asRuntimeException();
      case JOB_STOPPED -> Status.ABORTED.withDescription(why).asRuntimeException();
      case JOB_OVER -> Status.OUT_OF_RANGE.withDescription(why).asRuntimeException();
      case SHUTTING_DOWN -> Status.UNAVAILABLE.withDescription(why).asRuntimeException();
      case REJOIN -> Rejoin.asked(why);
    };
  }

  /** A refusal as its Status; anything else is a bug of the server: INTERNAL. */
  static StatusRuntimeException of(RuntimeException e) {
    if (e instanceof JobRefusal refusal) {
      return of(refusal);
    }
    return Status.INTERNAL.withDescription(e.toString()).withCause(e).asRuntimeException();
  }
}
