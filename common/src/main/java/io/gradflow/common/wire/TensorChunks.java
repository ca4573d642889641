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
  public static final int MAX_CHUNK_BYTES = 1 << 20;

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

  private static TensorChunk chunk(int t, int offset, byte[] bytes) {
    // The array is fresh and never written again, so protobuf may keep it without a copy.
    ByteString data = UnsafeByteOperations.unsafeWrap(bytes);
    return TensorChunk.newBuilder().setTensor(t).setOffset(offset).setData(data).build();
  }

  /**
   * Checks that a chunk of {@code elementBytes}-byte elements fits tensor {@code t} of a model
   * whose tensors have {@code lengths}; returns the element count or throws with a message naming
   * the tensor and the numbers.
   */
  public static int checkFits(TensorChunk c, int[] lengths, int elementBytes, String[] names) {
    if (c.getTensor() < 0 || c.getTensor() >= lengths.length) {
      throw new IllegalArgumentException(
          "chunk names tensor " + c.getTensor() + ": expected 0.." + (lengths.length - 1));
    }
    int size = c.getData().size();
    String name = names[c.getTensor()];
    if (size == 0 || size % elementBytes != 0 || size > MAX_CHUNK_BYTES) {
      throw new IllegalArgumentException(
          name + " chunk of " + size + " bytes: expected a positive multiple of " + elementBytes
              + " up to " + MAX_CHUNK_BYTES);
    }
    long n = size / elementBytes;
    long end = c.getOffset() + n;
    if (c.getOffset() < 0 || end > lengths[c.getTensor()]) {
      throw new IllegalArgumentException(
          name + " chunk covers elements [" + c.getOffset() + ", " + end + "): expected within [0, "
              + lengths[c.getTensor()] + ")");
    }
    return (int) n;
  }

  /** Copies a float chunk into {@code dest} at its offset. */
  public static void readFloats(TensorChunk c, float[] dest) {
    ByteBuffer buf = c.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().get(dest, (int) c.getOffset(), c.getData().size() / Float.BYTES);
  }

  /** Copies an int64 chunk into {@code dest[0, n)}. */
  public static int readLongs(TensorChunk c, long[] dest) {
    ByteBuffer buf = c.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    int n = c.getData().size() / Long.BYTES;
    buf.asLongBuffer().get(dest, 0, n);
    return n;
  }

  /** Copies a float chunk into {@code dest[0, n)}. */
  public static int readFloatsAtZero(TensorChunk c, float[] dest) {
    ByteBuffer buf = c.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    int n = c.getData().size() / Float.BYTES;
    buf.asFloatBuffer().get(dest, 0, n);
    return n;
  }
}
