package io.gradflow.common.wire;

import io.gradflow.proto.TensorChunk;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code BF16} push encoding: a fixed-point gradient sum rounded once to bfloat16 ({@link
 * Bfloat16#fromFixed}), 2 little-endian bytes an element, in chunks of at most {@link
 * TensorChunks#MAX_CHUNK_BYTES}; and back to fixed point on the server.
 */
public final class Bf16Chunks {
  /** Elements in one full chunk. */
  public static final int MAX_ELEMENTS = TensorChunks.MAX_CHUNK_BYTES / Short.BYTES;

  private Bf16Chunks() {}

  /** Fixed-point tensor {@code t}, each element rounded to bfloat16, as chunks. */
  public static List<TensorChunk> ofFixed(int t, long[] q) {
    List<TensorChunk> chunks = new ArrayList<>(q.length / MAX_ELEMENTS + 1);
    for (int off = 0; off < q.length; off += MAX_ELEMENTS) {
      int n = Math.min(MAX_ELEMENTS, q.length - off);
      ByteBuffer buf = ByteBuffer.allocate(n * Short.BYTES).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < n; i++) {
        buf.putShort(i * Short.BYTES, Bfloat16.fromFixed(q[off + i]));
      }
      chunks.add(TensorChunks.chunk(t, off, buf.array()));
    }
    return chunks;
  }

  /**
   * Decodes a BF16 chunk (its size already checked, e.g. by {@link TensorChunks#checkFits} with 2
   * bytes an element) into fixed point, {@code dest[offset + i] = round(v_i * 2^40)}; returns the
   * element count. Nothing is written when an element is refused.
   *
   * @param limit the largest magnitude accepted (exclusive), at most {@code 2^22}
   * @param name the tensor's name, for the message
   * @throws IllegalArgumentException naming the element when one is NaN, infinite or not below
   *     {@code limit}
   */
  public static int readFixed(TensorChunk c, long[] dest, int offset, double limit, String name) {
    ByteBuffer buf = c.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    int start = buf.position();
    int n = buf.remaining() / Short.BYTES;
    for (int i = 0; i < n; i++) {
      float v = Bfloat16.toFloat(buf.getShort(start + i * Short.BYTES));
      if (!(Math.abs(v) < limit)) {
        throw new IllegalArgumentException("gradient " + name + "[" + (offset + i) + "] = " + v
            + ": expected a finite value below " + (long) limit + " in magnitude");
      }
    }
    for (int i = 0; i < n; i++) {
      dest[offset + i] = Bfloat16.toFixed(buf.getShort(start + i * Short.BYTES));
    }
    return n;
  }
}
