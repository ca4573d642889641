package io.gradflow.ps;

import io.gradflow.common.model.Network;
import io.gradflow.common.shm.SharedPushArea;
import io.gradflow.common.shm.SharedWeights;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The server's end of the shared-memory data plane: a private directory (on {@code /dev/shm},
 * memory, not disk) holding the weights file ({@link SharedWeights}) and one push file per worker
 * ({@link SharedPushArea}). gRPC keeps carrying every call; for a worker that mapped these files the
 * weights and pushes skip the socket and move at memory speed. A worker proves it sees the same
 * files by finding the random token in them; workers elsewhere keep the socket.
 *
 * <p>The directory is {@code gradflow-<pid>-<random>}, readable by this user only, and deleted
 * when the server stops; one left by a server that was killed is deleted by the next server that
 * starts on the host.
 */
final class SharedMemoryPlane implements AutoCloseable {
  /**
   * Weights versions kept in a job with staleness {@code k}: the {@code k + 1} the open steps
   * compute on and the one before, for a worker still reading it.
   */
  static int weightSlots(int k) {
    return k + 2;
  }

  private final Path dir;
  private final long token;
  private final int[] lengths;
  private final SharedWeights weights;
  private final Map<String, SharedPushArea> pushAreas = new HashMap<>();

  private SharedMemoryPlane(Path dir, long token, int[] lengths, SharedWeights weights) {
    this.dir = dir;
    this.token = token;
    this.lengths = lengths;
    this.weights = weights;
  }

  /**
   * A plane under {@code root} for a model with tensors of {@code lengths} elements, or null (said
   * on {@code log}) when {@code root} cannot hold one: the workers then use the socket only.
   */
  static SharedMemoryPlane create(Path root, int[] lengths, Consumer<String> log) {
    return create(root, lengths, 0, log);
  }

  /** As {@link #create(Path, int[], Consumer)} for a job with staleness {@code staleness}. */
  static SharedMemoryPlane create(Path root, int[] lengths, int staleness, Consumer<String> log) {
    if (!Files.isDirectory(root) || !Files.isWritable(root)) {
      log.accept("shared memory: " + root + " is not a writable directory; workers use the socket for the weights and pushes");
      return null;
    }
    removeAbandoned(root);
    long token = new SecureRandom().nextLong();
    Path dir = root.resolve("gradflow-" + ProcessHandle.current().pid() + "-" + Long.toUnsignedString(token >>> 16, 36));
    try {
      Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      SharedWeights weights = SharedWeights.create(dir.resolve(SharedWeights.FILE_NAME), lengths, weightSlots(staleness), token);
      return new SharedMemoryPlane(dir, token, lengths, weights);
    } catch (IOException | UnsupportedOperationException e) {
      log.accept("shared memory: cannot set up " + dir + " (" + e.getMessage() + "); workers use the socket");
      deleteTree(dir);
      return null;
    }
  }

  Path dir() {
    return dir;
  }

  long token() {
    return token;
  }

  /** Writes the weights of version {@code version} (the newest) for the workers on this host. */
  void publish(long version, Network net) {
    weights.write(version, net);
  }

  /** The push file of worker {@code workerId}, made at its join; null when it cannot be made. */
  synchronized SharedPushArea pushAreaFor(String workerId) {
    SharedPushArea area = pushAreas.get(workerId);
    if (area == null) {
      try {
        area = SharedPushArea.create(SharedPushArea.fileFor(dir, workerId), lengths, token);
      } catch (IOException e) {
        return null;
      }
      pushAreas.put(workerId, area);
    }
    return area;
  }

  /** Forgets a worker that left: its file goes (a mapping still open keeps its pages until dropped). */
  synchronized void forget(String workerId) {
    SharedPushArea area = pushAreas.remove(workerId);
    if (area != null) {
      try {
        Files.deleteIfExists(area.path());
      } catch (IOException e) {
        // the directory goes at the end anyway
      }
    }
  }

  /** Deletes the directory and its files. */
  @Override
  public synchronized void close() {
    pushAreas.clear();
    deleteTree(dir);
  }

  /** Deletes the planes of servers on this host that are no longer running (killed, say). */
  private static void removeAbandoned(Path root) {
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root, "gradflow-*")) {
      for (Path d : dirs) {
        String[] parts = d.getFileName().toString().split("-");
        if (parts.length == 3 && parts[1].matches("[0-9]{1,19}")
            && ProcessHandle.of(Long.parseLong(parts[1])).map(p -> !p.isAlive()).orElse(true)
            && Files.isWritable(d)) {
          deleteTree(d);
        }
      }
    } catch (IOException | UncheckedIOException e) {
      // not ours to clean, or gone meanwhile
    }
  }

  private static void deleteTree(Path d) {
    try (Stream<Path> files = Files.walk(d)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          // best effort: a tmpfs file of a dead job
        }
      });
    } catch (IOException | UncheckedIOException e) {
      // gone already
    }
  }
}
