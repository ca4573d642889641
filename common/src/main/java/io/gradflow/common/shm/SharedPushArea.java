package io.gradflow.common.shm;

import io.gradflow.common.reduce.ExactGradientSum;
import java.io.IOException;
import java.nio.LongBuffer;
import java.nio.file.Path;

/**
 * One worker's push file of the shared-memory data plane: the worker writes the exact fixed-point
 * sums of its micro-shards ({@link ExactGradientSum}, 8 bytes each, canonical order) and then
 * sends a push header without chunks; the server copies them out, checking every value, when the
 * header arrives. The worker writes the file again only after the server acknowledged the push,
 * so the two never touch it at the same time; the server copies before it adds, so even a worker
 * that broke that rule could only spoil its own push.
 *
 * <p>Layout, little-endian: a 64-byte header (magic, token, parameter count), then the sums.
 */
public final class SharedPushArea {
  static final long MAGIC = 0x3130_4853_5550_4647L; // "GFPUSH01" little-endian
  /** Elements copied and checked at a time by {@link #readInto}: 32 KiB. */
  private static final int CHECK_BLOCK = 4096;

  private final MappedFile file;
  private final int[] lengths;

  private SharedPushArea(MappedFile file, int[] lengths) {
    this.file = file;
    this.lengths = lengths.clone();
  }

  /** Creates a worker's push file (server, at the worker's join). */
  public static SharedPushArea create(Path path, int[] lengths, long token) throws IOException {
    return new SharedPushArea(MappedFile.create(path, fileBytes(lengths), MAGIC, token, SharedWeights.parameterCount(lengths)), lengths);
  }

  /** Maps the push file the server made for this worker; throws when it is not this job's. */
  public static SharedPushArea open(Path path, int[] lengths, long token) throws IOException {
    MappedFile f = MappedFile.open(path, MAGIC, token, SharedWeights.parameterCount(lengths));
    if (f.bytes() != fileBytes(lengths)) {
      throw new IOException(path + " has " + f.bytes() + " bytes, expected " + fileBytes(lengths));
    }
    return new SharedPushArea(f, lengths);
  }

  /** The push file of worker {@code workerId} in the plane's directory {@code dir}. */
  public static Path fileFor(Path dir, String workerId) {
    return dir.resolve("push-" + workerId.replaceAll("[^A-Za-z0-9-]", "_"));
  }

  public Path path() {
    return file.path;
  }

  /** Writes the sums of {@code sum} (worker). */
  public void write(ExactGradientSum sum) {
    LongBuffer out = sums();
    for (int t = 0; t < lengths.length; t++) {
      out.put(sum.tensor(t), 0, lengths[t]);
    }
  }

  /**
   * Copies the sums into {@code staging} (one array per tensor; server) and checks each is within
   * {@code ±limit}.
   *
   * @throws IllegalArgumentException naming the first element out of range
   */
  public void readInto(long[][] staging, long limit, String[] tensorNames) {
    LongBuffer in = sums();
    for (int t = 0; t < lengths.length; t++) {
      long[] dest = staging[t];
      // Block by block, so that each block is checked while it is in the L1 cache, not read back
      // from memory in a second pass over the whole tensor.
      for (int from = 0; from < lengths[t]; from += CHECK_BLOCK) {
        int n = Math.min(CHECK_BLOCK, lengths[t] - from);
        in.get(dest, from, n);
        if (!withinLimit(dest, from, from + n, limit)) {
          for (int i = from; i < from + n; i++) {
            if (dest[i] > limit || dest[i] < -limit) {
              throw new IllegalArgumentException("push " + tensorNames[t] + "[" + i + "] = " + dest[i]
                  + " in fixed point: expected a value within +-" + limit);
            }
          }
        }
      }
    }
  }

  /**
   * Whether {@code |a[i]| <= limit} for {@code from <= i < end}: with {@code x = a[i] + limit}, that
   * is {@code 0 <= x <= 2 limit}, so the sign bit of {@code x | (2 limit - x)} (an {@code a[i]} near
   * the ends of the long range wraps to a negative x). Branch-free, so the JIT vectorises it.
   * (Public for the benchmarks that model the server's check.)
   */
  public static boolean withinLimit(long[] a, int from, int end, long limit) {
    long twice = 2 * limit;
    long signs = 0;
    for (int i = from; i < end; i++) {
      long x = a[i] + limit;
      signs |= x | (twice - x);
    }
    return signs >= 0;
  }

  private LongBuffer sums() {
    return file.slice(MappedFile.HEADER_BYTES, (int) (SharedWeights.parameterCount(lengths) * Long.BYTES)).asLongBuffer();
  }

  static long fileBytes(int[] lengths) {
    return MappedFile.HEADER_BYTES + SharedWeights.parameterCount(lengths) * Long.BYTES;
  }
}
