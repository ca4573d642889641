package io.gradflow.worker;

/** The server no longer knows this worker (restarted, or declared it lost): join again. */
final class RejoinNeeded extends RuntimeException {
  private static final long serialVersionUID = 1L;

  RejoinNeeded(String message) {
    super(message);
  }
}
