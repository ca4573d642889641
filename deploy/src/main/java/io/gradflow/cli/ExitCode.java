package io.gradflow.cli;

import java.util.Optional;

/** The process exit codes of every gradflow command. */
public enum ExitCode {
  /** The command did what it was asked. */
  OK(0),
  /** The job failed while running (diverged, a child died, an internal error). */
  FAILED(1),
  /** Bad command line: unknown option, malformed value, missing argument. */
  USAGE(2),
  /** The data set is missing, truncated, corrupt or inconsistent. */
  DATA(3),
  /** A model or checkpoint file is missing, corrupt or of another model. */
  MODEL_FILE(4),
  /** gradcheck found a gradient above its tolerance. */
  CHECK_FAILED(5),
  /** The parameter server could not be reached, or went away. */
  UNAVAILABLE(6),
  /**
   * The parameter server refused this worker (other model spec or hyper-parameters, a missing or
   * wrong job token), or a follower refused its coordinator (the job token).
   */
  REFUSED(7),
  /**
   * A security file is missing, unreadable or invalid: the job token file (--token-file) or a TLS
   * certificate, key or CA file (--tls-cert, --tls-key, --tls-ca); or --secure could not create
   * the job's certificates. The message names the file.
   */
  SECURITY(8),
  /**
   * An output could not be written: {@code --out} (checked before the job starts), {@code -o},
   * {@code --port-file} (checked before the server listens), {@code --script}, the report, a
   * checkpoint or the final save (disk full, read-only, no permission, a directory or a file in the
   * way). The message names the option or file, the path and the reason; a server's failed save
   * also names the newest good checkpoint to resume from. No temporary file is left.
   */
  SAVE_FAILED(9),
  /**
   * A worker came to a job that had finished: the server (still lingering after the job, see
   * {@code server --linger-seconds}) said there is nothing left to compute.
   */
  JOB_OVER(10),
  /**
   * The coordinator of a job with sharded servers stopped because a follower lost its state (it
   * restarted): the job rolls back. Restart the coordinator from its newest checkpoint ({@code
   * --resume-if-any}); it seeds every follower again. The local launcher does so itself.
   */
  ROLL_BACK(11),
  /** Interrupted (Ctrl-C). */
  INTERRUPTED(130);

  private final int code;

  ExitCode(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }

  /** The exit code whose number is {@code code}, if gradflow has one. */
  static Optional<ExitCode> of(int code) {
    for (ExitCode c : values()) {
      if (c.code == code) {
        return Optional.of(c);
      }
    }
    return Optional.empty();
  }

  /**
   * True for a child's failure that a new attempt of the same command cannot mend: a usage error,
   * bad data, a bad model file, a refused worker, a worker that came after the job was over.
   */
  boolean isPermanent() {
    return this == USAGE || this == DATA || this == MODEL_FILE || this == REFUSED || this == SAVE_FAILED || this == JOB_OVER;
  }

  /**
   * What a launcher ends with when a child process it started failed with {@code code}: a usage,
   * data or model-file error passes through (the launcher builds the child's command line from the
   * user's options), so the user sees the kind of mistake; anything else is {@link #FAILED}.
   */
  static ExitCode ofChild(int code) {
    ExitCode c = of(code).orElse(FAILED);
    return c == USAGE || c == DATA || c == MODEL_FILE || c == SAVE_FAILED ? c : FAILED;
  }
}
