package io.gradflow.common.wire;

import io.gradflow.common.nn.Gradients;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.proto.PushHeader.Encoding;
import io.gradflow.proto.TensorChunk;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The chunks of one {@link ParameterRange}, for a job with sharded servers: the range's weights
 * (or momentum) as float32 chunks, and a push of the range's elements in any push encoding. Each
 * tensor's part of the range goes from its first element in chunks of the encoding's size, as
 * {@link TensorChunks} and {@link PushCodec} cut whole tensors; for the whole model as one range
 * the chunks are the same as theirs.
 */
public final class RangeChunks {
  private RangeChunks() {}

  /** The range's elements of the float {@code tensors} (tensor {@code t} is {@code tensors[t]}), tensors in order. */
  public static List<TensorChunk> floats(ParameterRange range, float[][] tensors) {
    List<TensorChunk> out = new ArrayList<>();
    for (int t = 0; t < tensors.length; t++) {
      out.addAll(floats(t, tensors[t], range.from()[t], range.end()[t]));
    }
    return out;
  }

  /** Elements {@code [from, end)} of float tensor {@code t} as chunks of at most {@link TensorChunks#MAX_CHUNK_BYTES}. */
  public static List<TensorChunk> floats(int t, float[] values, int from, int end) {
    int perChunk = TensorChunks.MAX_CHUNK_BYTES / Float.BYTES;
    List<TensorChunk> chunks = new ArrayList<>();
    for (int off = from; off < end; off += perChunk) {
      int n = Math.min(perChunk, end - off);
      ByteBuffer buf = ByteBuffer.allocate(n * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
      buf.asFloatBuffer().put(values, off, n);
      chunks.add(TensorChunks.chunk(t, off, buf.array()));
    }
    return chunks;
  }

  /**
   * The chunks of a push of the range's elements in encoding {@code e}, tensors last to first (as
   * {@link PushCodec#encode}): FLOAT32 takes {@code single}, PACKED64 and BF16 take {@code sum}.
   */
  public static List<TensorChunk> push(Encoding e, ParameterRange range, ExactGradientSum sum, Gradients single) {
    List<TensorChunk> chunks = new ArrayList<>();
    for (int t = sum.tensorCount() - 1; t >= 0; t--) {
      int from = range.from()[t];
      int end = range.end()[t];
      switch (e) {
        case FLOAT32 -> chunks.addAll(floats(t, single.tensor(t), from, end));
        case PACKED64 -> {
          long[] q = sum.tensor(t);
          for (int off = from; off < end; off += PushCodec.MAX_PACKED64_ELEMENTS) {
            int n = Math.min(PushCodec.MAX_PACKED64_ELEMENTS, end - off);
            ByteBuffer buf = ByteBuffer.allocate(1 + n * PushCodec.packedWidth(q, off, n) + 7).order(ByteOrder.LITTLE_ENDIAN);
            int length = PushCodec.writePacked64(q, off, n, buf);
            chunks.add(TensorChunks.chunkOf(t, off, buf.array(), length));
          }
        }
        case BF16 -> {
          long[] q = sum.tensor(t);
          for (int off = from; off < end; off += PushCodec.MAX_BF16_ELEMENTS) {
            int n = Math.min(PushCodec.MAX_BF16_ELEMENTS, end - off);
            ByteBuffer buf = ByteBuffer.allocate(n * Short.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            PushCodec.writeBf16(q, off, n, buf);
            chunks.add(TensorChunks.chunk(t, off, buf.array()));
          }
        }
        default -> throw new IllegalArgumentException("push encoding " + e + ": nothing encodes it");
      }
    }
    return chunks;
  }
}
