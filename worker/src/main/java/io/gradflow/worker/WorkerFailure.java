package io.gradflow.worker;

/** Why a worker stopped before the job ended; the CLI turns the kind into an exit code. */
public final class WorkerFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The kinds of failure a user can act on differently. */
  public enum Kind {
    /** The server could not be reached or went away. */
    UNAVAILABLE,
    /** The server refused this worker (other job, other data, job full or over). */
    REFUSED,
    /** The job failed on the server, or this worker could not compute its part. */
    FAILED,
    /** The job had finished when this worker came: there was nothing left to compute. */
    JOB_OVER
  }

  private final Kind kind;

  public WorkerFailure(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public WorkerFailure(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
