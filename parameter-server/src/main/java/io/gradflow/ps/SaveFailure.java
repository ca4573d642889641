package io.gradflow.ps;

/**
 * A job that failed because the server could not write a checkpoint or the final model: its
 * failure reason starts with {@link #PREFIX}, so that the command can end with its own exit code.
 */
public final class SaveFailure {
  /** How the reason of a job that failed to save begins. */
  public static final String PREFIX = "cannot save: ";

  private SaveFailure() {}

  /** True when {@code reason} (the job's failure) is a failed save. */
  public static boolean is(String reason) {
    return reason != null && reason.startsWith(PREFIX);
  }
}
