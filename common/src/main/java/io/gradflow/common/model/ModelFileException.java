package io.gradflow.common.model;

/**
 * A model or checkpoint file that cannot be used: missing, truncated, corrupt (checksum), of an
 * unknown format or of another model spec. One-line message naming the file and what was
 * expected; the CLI prints it without a stack trace and exits with its model-error code.
 */
public class ModelFileException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ModelFileException(String message) {
    super(message);
  }

  public ModelFileException(String message, Throwable cause) {
    super(message, cause);
  }
}
