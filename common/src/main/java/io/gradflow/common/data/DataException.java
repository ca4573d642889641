package io.gradflow.common.data;

/**
 * A data set that cannot be used: missing, truncated, corrupt or inconsistent. The message is one
 * line that names the file (and position) and what was expected; the CLI prints it without a stack
 * trace and exits with its data-error code.
 */
public class DataException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public DataException(String message) {
    super(message);
  }

  public DataException(String message, Throwable cause) {
    super(message, cause);
  }
}
