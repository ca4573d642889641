package io.gradflow.cli;

import io.gradflow.common.report.OutputException;
import io.gradflow.common.util.IoErrors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The checks of a command's outputs ({@code --out}, {@code -o}, {@code --port-file}, {@code
 * --script}) before its work starts: an empty path is a usage error; an output that cannot be
 * written is {@link ExitCode#SAVE_FAILED} with a message naming the option, the path and the
 * reason; an output that is one of the command's inputs is a usage error naming both.
 */
final class OutputPaths {
  private OutputPaths() {}

  /** An output directory ({@code --out DIR}): created with its parents, and writable. */
  static Path directory(String option, Path dir) {
    notEmpty(option, dir);
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw cannotWrite(option, dir, e); // a file in the way: "exists and is not a directory"
    }
    if (!Files.isWritable(dir)) {
      throw cannotWrite(option, dir, readOnly(dir) ? "read-only file system" : "no permission to write in it");
    }
    return dir;
  }

  /**
   * An output file: not a directory, in a directory that exists and can be written. (A write can
   * still fail later, for a reason no check sees: it is reported with {@link #cannotWrite}.)
   */
  static Path file(String option, Path file) {
    notEmpty(option, file);
    if (Files.isDirectory(file)) {
      throw cannotWrite(option, file, "is a directory");
    }
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      if (!Files.exists(parent)) {
        throw cannotWrite(option, file, "directory " + parent + " does not exist");
      }
      if (!Files.isDirectory(parent)) {
        throw cannotWrite(option, file, parent + " is not a directory");
      }
      if (!Files.isWritable(parent)) {
        throw cannotWrite(option, file, readOnly(parent) ? "read-only file system" : "no permission to write in " + parent);
      }
    }
    return file;
  }

  /** Deletes {@code dir} and everything in it. */
  static void deleteTree(Path dir) throws IOException {
    try (var files = Files.walk(dir)) {
      for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** An output the command could not write: {@link ExitCode#SAVE_FAILED}, "cannot write OPTION PATH: REASON". */
  static CommandFailure cannotWrite(String option, Path path, String reason) {
    return new CommandFailure(ExitCode.SAVE_FAILED, "cannot write " + option + " " + path + ": " + IoErrors.withoutPath(path, reason));
  }

  /** As {@link #cannotWrite(String, Path, String)} for a write that failed with {@code e}. */
  static CommandFailure cannotWrite(String option, Path path, IOException e) {
    return cannotWrite(option, path, IoErrors.reason(e));
  }

  /**
   * A usage error when output {@code out} is input {@code in} (the same file by real path when
   * both exist, else the same normalized path): the command would overwrite what it reads.
   */
  static void notSameFile(String outOption, Path out, String inOption, Path in) {
    if (out == null || in == null) {
      return;
    }
    boolean same;
    try {
      same = Files.exists(out) && Files.exists(in)
          ? Files.isSameFile(out, in)
          : out.toAbsolutePath().normalize().equals(in.toAbsolutePath().normalize());
    } catch (IOException e) {
      same = false;
    }
    if (same) {
      throw CommandFailure.usage(outOption + " " + out + " is the same file as " + inOption + " " + in
          + ": expected another file (writing it would destroy the input)");
    }
  }

  private static void notEmpty(String option, Path path) {
    if (path.toString().isEmpty()) {
      throw CommandFailure.usage(option + " \"\": expected a path, got an empty one");
    }
  }

  private static boolean readOnly(Path p) {
    try {
      return Files.getFileStore(p).isReadOnly();
    } catch (IOException e) {
      return false;
    }
  }
}
