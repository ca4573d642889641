package io.gradflow.common.wire;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.gradflow.proto.TensorChunk;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Cuts float tensors into {@link TensorChunk}s of at most {@link #MAX_CHUNK_BYTES} (256 KiB, a
 * sixteenth of gRPC's default 4 MiB message limit) and puts them back: the weights the server
 * sends and {@code FLOAT32} pushes. Values travel as raw little-endian float32 bytes. The other
 * push encodings are {@link PushCodec}'s.
 */
public final class TensorChunks {
  /** Largest payload of one chunk: 256 KiB. */
  public static final int MAX_CHUNK_BYTES = 1 << 18;

  private TensorChunks() {}

  /** Float tensor {@code t} as chunks of at most {@link #MAX_CHUNK_BYTES} each. */
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

  /** Copies a float chunk into {@code dest} at its offset. */
  public static void readFloats(TensorChunk c, float[] dest) {
    ByteBuffer buf = c.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().get(dest, (int) c.getOffset(), c.getData().size() / Float.BYTES);
  }

  /** A chunk of tensor {@code t} at element {@code offset} that takes {@code bytes} (kept, not copied). */
  static TensorChunk chunk(int t, int offset, byte[] bytes) {
    return chunkOf(t, offset, bytes, bytes.length);
  }

  /** As {@link #chunk} for the first {@code length} bytes. */
  static TensorChunk chunkOf(int t, int offset, byte[] bytes, int length) {
    // The array is fresh and never written again, so protobuf may keep it without a copy.
    ByteString data = UnsafeByteOperations.unsafeWrap(bytes, 0, length);
    return TensorChunk.newBuilder().setTensor(t).setOffset(offset).setData(data).build();
  }
}
