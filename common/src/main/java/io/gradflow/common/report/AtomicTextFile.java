package io.gradflow.common.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * A text file replaced whole or not at all: written to {@code FILE.tmp} beside it, then renamed
 * onto it, so a reader polling for it never sees half of it. (A set of files replaced together is
 * a {@link FileSet}.)
 */
public final class AtomicTextFile {
  private AtomicTextFile() {}

  /**
   * Writes {@code text} (UTF-8) to {@code file}; a failure removes the temporary file and throws an
   * {@link OutputException} naming {@code file} and the reason (its cause the {@link IOException}).
   */
  public static void write(Path file, String text) {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try {
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // best effort: the write failed already
      }
      throw OutputException.cannotWrite(file, e);
    }
  }
}
