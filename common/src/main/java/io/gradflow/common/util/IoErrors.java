package io.gradflow.common.util;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Locale;

/** Failed file operations in one line of words, for messages that name the file and the reason. */
public final class IoErrors {
  private IoErrors() {}

  /**
   * The reason of {@code e} in words, with the file it names: "afile: not a directory",
   * "/proc/nope: no such file or directory", "/ro/x: read-only file system".
   */
  public static String reason(IOException e) {
    if (e instanceof FileSystemException f) {
      String file = f.getFile();
      return (file == null ? "" : file + (f.getOtherFile() == null ? "" : " -> " + f.getOtherFile()) + ": ") + why(e);
    }
    return why(e);
  }

  /**
   * {@code reason} without a leading "PATH: " when it names {@code path} (a message that names the
   * path itself names it once): "/x/y: is a directory" for /x/y is "is a directory".
   */
  public static String withoutPath(Object path, String reason) {
    String prefix = path + ": ";
    return reason.startsWith(prefix) ? reason.substring(prefix.length()) : reason;
  }

  /** The reason of {@code e} in words, without the file: "not a directory", "read-only file system". */
  public static String why(IOException e) {
    if (e instanceof FileSystemException f) {
      if (f.getReason() != null && !f.getReason().isBlank()) {
        return f.getReason().toLowerCase(Locale.ROOT);
      } else if (f instanceof NoSuchFileException) {
        return "no such file or directory";
      } else if (f instanceof AccessDeniedException) {
        return "permission denied";
      } else if (f instanceof FileAlreadyExistsException) {
        return "exists and is not a directory";
      } else if (f instanceof NotDirectoryException) {
        return "not a directory";
      } else if (f instanceof DirectoryNotEmptyException) {
        return "is a non-empty directory";
      }
      return f.getClass().getSimpleName();
    }
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }
}
