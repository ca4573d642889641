package io.gradflow.common.wire;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.gradflow.proto.TensorChunk;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Cuts tensors into {@link TensorChunk}s of at most {@link #MAX_CHUNK_BYTES} (1 MiB, a quarter of
 * gRPC's default message limit) and puts them back. Values travel as raw little-endian bytes:
 * float32 for weights and single-shard gradients, int64 for exact fixed-point gradient sums.
 */
public final class TensorChunks {
  /** Largest payload of one chunk. */
  public static final int MAX_CHUNK_BYTES = 1 << 18;

  private TensorChunks() {}

  /** Float tensor {@code t} as chunks of at most 1 MiB each. */
  public static List<TensorChunk> ofFloats(int t, float[] values) {
    int perChunk = MAX_CHUNK_BYTES / Float.BYTES;
    List<TensorChunk> chunks = new ArrayList<>(values.length / perChunk + 1);
    for (int off = 0; off < values.length; off += perChunk) {
      int n = Math.min(perChunk, values.length - off);
      ByteBuffer buf = ByteBuffer.allocate(n * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
      buf.asFloatBuffer().put(values, off, n);
      chunks.add(chunk(t, off, buf.array()));
    }
    return chunks;
  }

  /** Fixed-point tensor {@code t} as chunks of at most 1 MiB each. */
  public static List<TensorChunk> ofLongs(int t, long[] values) {
    int perChunk = MAX_CHUNK_BYTES / Long.BYTES;
    List<TensorChunk> chunks = new ArrayList<>(values.length / perChunk + 1);
    for (int off = 0; off < values.length; off += perChunk) {
      int n = Math.min(perChunk, values.length - off);
      ByteBuffer buf = ByteBuffer.allocate(n * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
      buf.asLongBuffer().put(values, off, n);
      chunks.add(chunk(t, off, buf.array()));
    }
    return chunks;
  }

  /** Most elements in one packed chunk: 1 width byte + 8 bytes each stays within 1 MiB. */
  public static final int MAX_PACKED_ELEMENTS = (MAX_CHUNK_BYTES - 1) / Long.BYTES;

  /**
   * Fixed-point tensor {@code t} as packed chunks: each chunk stores its values zigzag-encoded
   * ({@code (v << 1) ^ (v >> 63)}) in the fewest bytes {@code w} that hold the largest of them,
   * after a leading byte {@code w}. Gradient sums rarely need more than 5 of the 8 bytes.
   */
  public static List<TensorChunk> ofPackedLongs(int t, long[] values) {
    List<TensorChunk> chunks = new ArrayList<>(values.length / MAX_PACKED_ELEMENTS + 1);
    for (int off = 0; off < values.length; off += MAX_PACKED_ELEMENTS) {
      int n = Math.min(MAX_PACKED_ELEMENTS, values.length - off);
      long all = 0;
      for (int i = off; i < off + n; i++) {
        all |= zigzag(values[i]);
      }
      int w = Math.max(1, (64 - Long.numberOfLeadingZeros(all) + 7) / 8);
      // Each value is written as a whole little-endian long and the next one overwrites its
      // unused high bytes: 7 bytes of slack at the end, cut off before sending.
      ByteBuffer buf = ByteBuffer.allocate(1 + n * w + 7).order(ByteOrder.LITTLE_ENDIAN);
      buf.put(0, (byte) w);
      int p = 1;
      for (int i = off; i < off + n; i++) {
        buf.putLong(p, zigzag(values[i]));
        p += w;
      }
      chunks.add(chunkOf(t, off, buf.array(), 1 + n * w));
    }
    return chunks;
  }

  /**
   * Decodes a packed chunk into {@code dest[offset, offset + n)}; returns {@code n}.
   *
   * @throws IllegalArgumentException if the width byte or the length is inconsistent
   */
  public static int readPackedLongs(TensorChunk c, long[] dest, int offset) {
    ByteBuffer buf = c.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    if (!buf.hasRemaining()) {
      throw new IllegalArgumentException("packed chunk is empty: expected a width byte");
    }
    int start = buf.position();
    int w = buf.get(start);
    int rest = buf.remaining() - 1;
    if (w < 1 || w > 8 || rest % w != 0) {
      throw new IllegalArgumentException(
          "packed chunk of " + (rest + 1) + " bytes with width " + w + ": expected a width 1..8 and whole values");
    }
    int n = rest / w;
    if (offset < 0 || offset + n > dest.length) {
      throw new IllegalArgumentException("packed chunk of " + n + " values: expected at most " + (dest.length - offset));
    }
    long mask = w == 8 ? -1L : (1L << (8 * w)) - 1;
    int p = start + 1;
    int fast = n;
    // whole-long reads while 8 bytes remain, then byte by byte for the last few values
    while (fast > 0 && p + (long) (fast - 1) * w + 8 > buf.limit()) {
      fast--;
    }
    for (int i = 0; i < fast; i++, p += w) {
      long z = buf.getLong(p) & mask;
      dest[offset + i] = (z >>> 1) ^ -(z & 1);
    }
    for (int i = fast; i < n; i++, p += w) {
      long z = 0;
      for (int b = 0; b < w; b++) {
        z |= (buf.get(p + b) & 0xFFL) << (8 * b);
      }
      dest[offset + i] = (z >>> 1) ^ -(z & 1);
    }
    return n;
  }

  /** Decodes a packed chunk into {@code dest[0, n)}; returns {@code n}. */
  public static int readPackedLongs(TensorChunk c, long[] dest) {
    return readPackedLongs(c, dest, 0);
  }

  /** Elements in a packed chunk, from its width byte and length (0 when malformed). */
  public static int packedCount(TensorChunk c) {
    int size = c.getData().size();
    if (size < 2) {
      return 0;
    }
    int w = c.getData().byteAt(0);
    return w >= 1 && w <= 8 && (size - 1) % w == 0 ? (size - 1) / w : 0;
  }

  private static long zigzag(long v) {
    return (v << 1) ^ (v >> 63);
  }

  /** A chunk of tensor {@code t} at element {@code offset} that takes {@code bytes} (kept, not copied). */
  static TensorChunk chunk(int t, int offset, byte[] bytes) {
    return chunkOf(t, offset, bytes, bytes.length);
  }

  private static TensorChunk chunkOf(int t, int offset, byte[] bytes, int length) {
    // The array is fresh and never written again, so protobuf may keep it without a copy.
    ByteString data = UnsafeByteOperations.unsafeWrap(bytes, 0, length);
    return TensorChunk.newBuilder().setTensor(t).setOffset(offset).setData(data).build();
  }

  /**
   * Checks that a chunk of {@code elementBytes}-byte elements fits tensor {@code t} of a model
   * whose tensors have {@code lengths}; returns the element count or throws with a message naming
   * the tensor and the numbers.
   */
  public static int checkFits(TensorChunk c, int[] lengths, int elementBytes, String[] names) {
    checkTensor(c, lengths);
    int size = c.getData().size();
    String name = names[c.getTensor()];
    if (size == 0 || size % elementBytes != 0 || size > MAX_CHUNK_BYTES) {
      throw new IllegalArgumentException(
          name + " chunk of " + size + " bytes: expected a positive multiple of " + elementBytes
              + " up to " + MAX_CHUNK_BYTES);
    }
    return checkRange(c, size / elementBytes, lengths, names);
  }

  /** As {@link #checkFits} for a packed chunk ({@link #ofPackedLongs}). */
  public static int checkPackedFits(TensorChunk c, int[] lengths, String[] names) {
    checkTensor(c, lengths);
    int n = packedCount(c);
    if (n == 0 || c.getData().size() > MAX_CHUNK_BYTES) {
      throw new IllegalArgumentException(
          names[c.getTensor()] + " packed chunk of " + c.getData().size()
              + " bytes: expected a width byte 1..8 and whole values, up to " + MAX_CHUNK_BYTES + " bytes");
    }
    return checkRange(c, n, lengths, names);
  }

  private static void checkTensor(TensorChunk c, int[] lengths) {
    if (c.getTensor() < 0 || c.getTensor() >= lengths.length) {
      throw new IllegalArgumentException(
          "chunk names tensor " + c.getTensor() + ": expected 0.." + (lengths.length - 1));
    }
  }

  private static int checkRange(TensorChunk c, long n, int[] lengths, String[] names) {
    long end = c.getOffset() + n;
    if (c.getOffset() < 0 || end > lengths[c.getTensor()]) {
      throw new IllegalArgumentException(
          names[c.getTensor()] + " chunk covers elements [" + c.getOffset() + ", " + end
              + "): expected within [0, " + lengths[c.getTensor()] + ")");
    }
    return (int) n;
  }

  /** Copies a float chunk into {@code dest} at its offset. */
  public static void readFloats(TensorChunk c, float[] dest) {
    ByteBuffer buf = c.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().get(dest, (int) c.getOffset(), c.getData().size() / Float.BYTES);
  }

  /** Copies a float chunk into {@code dest[0, n)}. */
  public static int readFloatsAtZero(TensorChunk c, float[] dest) {
    ByteBuffer buf = c.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    int n = c.getData().size() / Float.BYTES;
    buf.asFloatBuffer().get(dest, 0, n);
    return n;
  }
}
