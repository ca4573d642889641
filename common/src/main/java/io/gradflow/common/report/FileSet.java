package io.gradflow.common.report;

import io.gradflow.common.model.FramedFiles;
import io.gradflow.common.util.IoErrors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A set of files that replace their earlier versions together (a finished run's {@code model.gfm},
 * {@code summary.json}, {@code metrics.jsonl}): each is first written whole to a temporary name
 * beside its target, then {@link #commit} renames them all. A failure before the renames (a write,
 * a target that is a directory) leaves every earlier file as it was and removes the temporary
 * files. The earlier files are first moved aside ({@code .NAME.old}), then the new ones renamed
 * onto their names, then the old ones deleted; a failed rename (an immutable file, say) moves back
 * what was moved, so the earlier set stays whole. What remains possible: a rename that fails while
 * undoing (the disk went away in between) leaves an earlier file under {@code .NAME.old}, and a
 * crash between the renames leaves some files new and some old.
 */
public final class FileSet {
  /** One file of the set: its temporary name, its target, and whether a failure keeps the temporary file. */
  private record Entry(Path temp, Path target, boolean keepTempOnFailure) {}

  private final List<Entry> entries = new ArrayList<>();

  /** Writes {@code bytes} to {@code TARGET.tmp} (synced to disk), to be renamed onto {@code target} by {@link #commit}. */
  public FileSet write(Path target, byte[] bytes) {
    Path temp = target.resolveSibling(target.getFileName() + ".tmp");
    entries.add(new Entry(temp, target, false));
    try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      while (b.hasRemaining()) {
        ch.write(b);
      }
      ch.force(true);
    } catch (IOException e) {
      abandon();
      throw OutputException.cannotWrite(temp, e);
    }
    return this;
  }

  /** A file already written whole at {@code temp} (kept there when the set fails), renamed onto {@code target} by {@link #commit}. */
  public FileSet add(Path temp, Path target) {
    entries.add(new Entry(temp, target, true));
    return this;
  }

  /** Removes the temporary files written so far (those not kept on failure). */
  public void abandon() {
    for (Entry e : entries) {
      if (!e.keepTempOnFailure()) {
        try {
          Files.deleteIfExists(e.temp());
        } catch (IOException ignored) {
          // best effort: the failure is reported already
        }
      }
    }
  }

  /** Renames every file onto its target, or none (see the class comment). */
  public void commit() {
    for (Entry e : entries) {
      if (Files.isDirectory(e.target(), LinkOption.NOFOLLOW_LINKS)) {
        abandon();
        throw OutputException.cannotWrite(e.target(), new FileSystemException(e.target().toString(), null, "is a directory"));
      }
    }
    List<Entry> asideDone = new ArrayList<>();
    List<Entry> placed = new ArrayList<>();
    Entry current = null;
    try {
      for (Entry e : entries) {
        current = e;
        if (Files.exists(e.target(), LinkOption.NOFOLLOW_LINKS)) {
          Files.move(e.target(), aside(e), StandardCopyOption.ATOMIC_MOVE);
          asideDone.add(e);
        }
      }
      for (Entry e : entries) {
        current = e;
        Files.move(e.temp(), e.target(), StandardCopyOption.ATOMIC_MOVE);
        placed.add(e);
      }
    } catch (IOException failure) {
      for (Entry e : placed) {
        try {
          Files.move(e.target(), e.temp(), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException ignored) {
          // best effort
        }
      }
      for (Entry e : asideDone) {
        try {
          Files.move(aside(e), e.target(), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException ignored) {
          // best effort: the earlier file stays under .NAME.old
        }
      }
      abandon();
      String why = failure instanceof FileSystemException f && f.getReason() != null
          ? IoErrors.why(failure) // the system's words without the temporary and the aside names
          : IoErrors.reason(failure);
      throw new OutputException("cannot write " + current.target() + ": " + why, failure);
    }
    for (Entry e : asideDone) {
      try {
        Files.deleteIfExists(aside(e));
      } catch (IOException ignored) {
        // a stale .NAME.old is harmless
      }
    }
    Path dir = entries.isEmpty() ? null : entries.get(0).target().toAbsolutePath().getParent();
    if (dir != null) {
      FramedFiles.syncDirectory(dir);
    }
  }

  private static Path aside(Entry e) {
    return e.target().resolveSibling("." + e.target().getFileName() + ".old");
  }
}
