package io.gradflow.common.report;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Locale;

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
    String reason = reason(cause);
    String named = String.valueOf(path);
    return new OutputException("cannot write " + (reason.startsWith(named + ": ") ? reason : named + ": " + reason), cause);
  }

  /**
   * The reason of {@code e} in words, with the file it names: "afile: not a directory",
   * "/proc/nope: no such file or directory", "/ro/x: read-only file system".
   */
  public static String reason(IOException e) {
    if (e instanceof FileSystemException f) {
      String file = f.getFile();
      String why;
      if (f.getReason() != null && !f.getReason().isBlank()) {
        why = f.getReason().toLowerCase(Locale.ROOT);
      } else if (f instanceof NoSuchFileException) {
        why = "no such file or directory";
      } else if (f instanceof AccessDeniedException) {
        why = "permission denied";
      } else if (f instanceof FileAlreadyExistsException) {
        why = "exists and is not a directory";
      } else if (f instanceof NotDirectoryException) {
        why = "not a directory";
      } else if (f instanceof DirectoryNotEmptyException) {
        why = "is a non-empty directory";
      } else {
        why = f.getClass().getSimpleName();
      }
      return (file == null ? "" : file + (f.getOtherFile() == null ? "" : " -> " + f.getOtherFile()) + ": ") + why;
    }
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }
}
