package io.gradflow.common.report;

import io.gradflow.common.util.IoErrors;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * An output file or directory could not be written (the command line maps it to the exit code
 * "an output could not be written"): the message names the path and the reason.
 */
public final class OutputException extends UncheckedIOException {
  private static final long serialVersionUID = 1L;

  public OutputException(String message, IOException cause) {
    super(message, cause);
  }

  /** "cannot write PATH: REASON" (the path once where the reason names it already). */
  public static OutputException cannotWrite(Object path, IOException cause) {
    return new OutputException("cannot write " + path + ": " + IoErrors.withoutPath(path, IoErrors.reason(cause)), cause);
  }
}
