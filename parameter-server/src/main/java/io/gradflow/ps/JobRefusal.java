package io.gradflow.ps;

/**
 * Why the job refuses a worker's call, in the job's own terms; the gRPC edge turns it into a
 * Status ({@link RefusalStatus}). The coordinator and its helpers throw only this, so they know
 * nothing of gRPC. No stack trace: a refusal is an answer, not a bug.
 */
public final class JobRefusal extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The kinds of refusal a worker acts on differently. */
  public enum Kind {
    /** The request itself is malformed: a bad range, shape, value or encoding (INVALID_ARGUMENT). */
    BAD_REQUEST,
    /** The worker does not fit the job: another job, other data, wrong step, not its micro-shards (FAILED_PRECONDITION). */
    REFUSED,
    /** The job has a worker for every micro-shard already (RESOURCE_EXHAUSTED). */
    JOB_FULL,
    /** The job stopped on a failure (ABORTED). */
    JOB_STOPPED,
    /** The job finished: there is nothing left to compute (OUT_OF_RANGE). */
    JOB_OVER,
    /** The server is shutting down, or not ready yet (a follower not seeded); the worker may retry elsewhen (UNAVAILABLE). */
    SHUTTING_DOWN,
    /** The server does not know this worker (any more): it should join again (FAILED_PRECONDITION marked rejoin). */
    REJOIN
  }

  private final Kind kind;

  private JobRefusal(Kind kind, String message) {
    super(message, null, false, false);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }

  static JobRefusal badRequest(String message) {
    return new JobRefusal(Kind.BAD_REQUEST, message);
  }

  static JobRefusal refused(String message) {
    return new JobRefusal(Kind.REFUSED, message);
  }

  static JobRefusal jobFull(String message) {
    return new JobRefusal(Kind.JOB_FULL, message);
  }

  static JobRefusal jobStopped(String message) {
    return new JobRefusal(Kind.JOB_STOPPED, message);
  }

  static JobRefusal jobOver(String message) {
    return new JobRefusal(Kind.JOB_OVER, message);
  }

  static JobRefusal shuttingDown(String message) {
    return new JobRefusal(Kind.SHUTTING_DOWN, message);
  }

  /** Not ready yet (a follower waiting for its coordinator's state): UNAVAILABLE, the caller retries. */
  static JobRefusal notReady(String message) {
    return new JobRefusal(Kind.SHUTTING_DOWN, message);
  }

  static JobRefusal rejoin(String message) {
    return new JobRefusal(Kind.REJOIN, message);
  }
}
