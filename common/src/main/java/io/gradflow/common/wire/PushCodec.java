package io.gradflow.common.wire;

import io.gradflow.common.nn.Gradients;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.reduce.FixedPoint;
import io.gradflow.proto.PushHeader.Encoding;
import io.gradflow.proto.TensorChunk;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The push format, both ends: how a worker encodes the gradient of its micro-shards {@code [first,
 * end)} and how the server checks and decodes it into fixed point ({@link FixedPoint}). A push is a
 * header, then every tensor in {@link TensorChunk}s of at most {@link TensorChunks#MAX_CHUNK_BYTES}
 * little-endian bytes, tensors last to first (the order backward produces them), each tensor's
 * chunks in element order.
 *
 * <table>
 *   <caption>The encodings</caption>
 *   <tr><th>encoding</th><th>sent for</th><th>an element</th><th>the server refuses</th></tr>
 *   <tr><td>{@code FLOAT32}</td><td>exactly one micro-shard, push precision fp32</td>
 *       <td>its float32 gradient {@code g}, 4 bytes; the server rounds it, {@code round(g * 2^40)},
 *       exactly as the worker would</td><td>NaN, infinite or {@code |g| >= 2^11}</td></tr>
 *   <tr><td>{@code PACKED64}</td><td>several micro-shards, push precision fp32</td>
 *       <td>the exact fixed-point sum {@code q}, zigzag-encoded {@code (q << 1) ^ (q >> 63)} in the
 *       fewest bytes {@code w} (1..8) that hold every value of the chunk, after a leading byte
 *       {@code w}; gradient sums rarely need more than 5 bytes</td>
 *       <td>{@code |q| > 2^51 * shards}</td></tr>
 *   <tr><td>{@code BF16}</td><td>any number of micro-shards, push precision bf16 (nothing else
 *       in such a job)</td><td>the fixed-point sum rounded once to bfloat16 ({@link
 *       Bfloat16#fromFixed}), 2 bytes; the server takes {@code round(h * 2^40)}, exact</td>
 *       <td>NaN, infinite or {@code |h| >= 2^11 * shards}</td></tr>
 *   <tr><td>{@code FIXED64}</td><td>nothing: refused</td><td></td><td></td></tr>
 * </table>
 *
 * <p>Every chunk must name a tensor of the model, hold whole elements (at least one) and end
 * within its tensor. Messages name the tensor and the element. Whether a tensor's chunks come in
 * order and cover it is the receiver's business (it counts what arrived).
 *
 * <p>The chunk-level methods work on {@link ByteBuffer}s with offsets, so that a marshaller can
 * encode from the kernels' arrays into its own buffers and decode from the transport's buffers
 * without building protobuf messages; the {@link TensorChunk} methods wrap them.
 */
public final class PushCodec {
  /** Elements in a full {@code FLOAT32} chunk. */
  public static final int MAX_FLOAT32_ELEMENTS = TensorChunks.MAX_CHUNK_BYTES / Float.BYTES;
  /** Elements in a full {@code PACKED64} chunk: 1 width byte + 8 bytes each stays within a chunk. */
  public static final int MAX_PACKED64_ELEMENTS = (TensorChunks.MAX_CHUNK_BYTES - 1) / Long.BYTES;
  /** Elements in a full {@code BF16} chunk. */
  public static final int MAX_BF16_ELEMENTS = TensorChunks.MAX_CHUNK_BYTES / Short.BYTES;

  private PushCodec() {}

  // ---------------------------------------------------------------------------------------------
  // Which encoding

  /** What a worker sends: BF16 in a bf16 job; FLOAT32 for one micro-shard, PACKED64 for several. */
  public static Encoding encodingFor(PushPrecision precision, int microShards) {
    if (precision == PushPrecision.BF16) {
      return Encoding.BF16;
    }
    return microShards == 1 ? Encoding.FLOAT32 : Encoding.PACKED64;
  }

  /**
   * Checks that a job with push precision {@code precision} takes a push of {@code microShards}
   * micro-shards in encoding {@code e}.
   *
   * @throws IllegalArgumentException saying what is accepted
   */
  public static void checkAccepted(Encoding e, PushPrecision precision, int microShards) {
    if (precision == PushPrecision.BF16) {
      if (e != Encoding.BF16) {
        throw new IllegalArgumentException(
            "push encoding " + e + ": this job has push precision bf16 and takes BF16 pushes only");
      }
    } else if (e != Encoding.FLOAT32 && e != Encoding.PACKED64) {
      throw new IllegalArgumentException("push encoding " + e + ": expected PACKED64 or FLOAT32"
          + (e == Encoding.BF16 ? " (this job has push precision fp32)" : ""));
    } else if (e == Encoding.FLOAT32 && microShards != 1) {
      throw new IllegalArgumentException("FLOAT32 pushes carry exactly one micro-shard, got " + microShards
          + ": the sum of several goes as PACKED64");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Worker: encoding

  /**
   * The chunks of one push in encoding {@code e}, tensors last to first: FLOAT32 takes {@code
   * single}, the float gradient of the one micro-shard; PACKED64 and BF16 take {@code sum}.
   */
  public static List<TensorChunk> encode(Encoding e, ExactGradientSum sum, Gradients single) {
    List<TensorChunk> chunks = new ArrayList<>();
    for (int t = sum.tensorCount() - 1; t >= 0; t--) {
      chunks.addAll(switch (e) {
        case FLOAT32 -> TensorChunks.ofFloats(t, single.tensor(t));
        case PACKED64 -> packed64(t, sum.tensor(t));
        case BF16 -> bf16(t, sum.tensor(t));
        default -> throw new IllegalArgumentException("push encoding " + e + ": nothing encodes it");
      });
    }
    return chunks;
  }

  /** Fixed-point tensor {@code t} as PACKED64 chunks. */
  public static List<TensorChunk> packed64(int t, long[] q) {
    List<TensorChunk> chunks = new ArrayList<>(q.length / MAX_PACKED64_ELEMENTS + 1);
    for (int off = 0; off < q.length; off += MAX_PACKED64_ELEMENTS) {
      int n = Math.min(MAX_PACKED64_ELEMENTS, q.length - off);
      // 7 bytes of slack: the writer stores whole longs (see writePacked64)
      ByteBuffer buf = ByteBuffer.allocate(1 + n * packedWidth(q, off, n) + 7).order(ByteOrder.LITTLE_ENDIAN);
      int length = writePacked64(q, off, n, buf);
      chunks.add(TensorChunks.chunkOf(t, off, buf.array(), length));
    }
    return chunks;
  }

  /** Fixed-point tensor {@code t}, each element rounded once to bfloat16, as BF16 chunks. */
  public static List<TensorChunk> bf16(int t, long[] q) {
    List<TensorChunk> chunks = new ArrayList<>(q.length / MAX_BF16_ELEMENTS + 1);
    for (int off = 0; off < q.length; off += MAX_BF16_ELEMENTS) {
      int n = Math.min(MAX_BF16_ELEMENTS, q.length - off);
      ByteBuffer buf = ByteBuffer.allocate(n * Short.BYTES).order(ByteOrder.LITTLE_ENDIAN);
      writeBf16(q, off, n, buf);
      chunks.add(TensorChunks.chunk(t, off, buf.array()));
    }
    return chunks;
  }

  /** Bytes per element of {@code q[from, from+n)} in PACKED64: the fewest that hold every value. */
  public static int packedWidth(long[] q, int from, int n) {
    long all = 0;
    for (int i = from; i < from + n; i++) {
      all |= zigzag(q[i]);
    }
    return Math.max(1, (64 - Long.numberOfLeadingZeros(all) + 7) / 8);
  }

  /**
   * Writes {@code q[from, from+n)} as one PACKED64 chunk's payload at {@code out}'s position and
   * moves it past; returns the bytes written, {@code 1 + n * w}. Values go as whole little-endian
   * longs while 8 bytes fit before {@code out}'s limit, each overwriting the unused high bytes of
   * the one before, so up to 7 bytes past the payload may be written too.
   */
  public static int writePacked64(long[] q, int from, int n, ByteBuffer out) {
    ByteBuffer le = littleEndian(out);
    int w = packedWidth(q, from, n);
    int start = out.position();
    le.put(start, (byte) w);
    int p = start + 1;
    int i = 0;
    for (; i < n && p + Long.BYTES <= le.limit(); i++, p += w) {
      le.putLong(p, zigzag(q[from + i]));
    }
    for (; i < n; i++, p += w) {
      long z = zigzag(q[from + i]);
      for (int b = 0; b < w; b++) {
        le.put(p + b, (byte) (z >>> (8 * b)));
      }
    }
    out.position(p);
    return p - start;
  }

  /** Writes {@code q[from, from+n)}, each rounded once to bfloat16, at {@code out}'s position: 2n bytes. */
  public static int writeBf16(long[] q, int from, int n, ByteBuffer out) {
    ByteBuffer le = littleEndian(out);
    int start = out.position();
    for (int i = 0; i < n; i++) {
      le.putShort(start + i * Short.BYTES, Bfloat16.fromFixed(q[from + i]));
    }
    out.position(start + n * Short.BYTES);
    return n * Short.BYTES;
  }

  private static long zigzag(long v) {
    return (v << 1) ^ (v >> 63);
  }

  private static ByteBuffer littleEndian(ByteBuffer b) {
    return b.order() == ByteOrder.LITTLE_ENDIAN ? b : b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
  }

  // ---------------------------------------------------------------------------------------------
  // Server: checking and decoding

  /** A decoder for the pushes of one encoding and micro-shard count, for a model's tensors. */
  public static Decoder decoder(Encoding e, int microShards, int[] tensorLengths, String[] tensorNames) {
    return new Decoder(e, microShards, tensorLengths, tensorNames);
  }

  /**
   * Checks and decodes the chunks of pushes in one encoding into fixed point. Holds no state
   * between chunks; one per push (or per worker) is fine.
   */
  public static final class Decoder {
    private final Encoding encoding;
    private final int microShards;
    private final int[] lengths;
    private final String[] names;

    private Decoder(Encoding e, int microShards, int[] tensorLengths, String[] tensorNames) {
      if (e != Encoding.FLOAT32 && e != Encoding.PACKED64 && e != Encoding.BF16) {
        throw new IllegalArgumentException("push encoding " + e + ": nothing decodes it");
      }
      if (microShards < 1 || microShards > FixedPoint.MAX_TERMS || (e == Encoding.FLOAT32 && microShards != 1)) {
        throw new IllegalArgumentException(
            e + " push of " + microShards + " micro-shards: expected " + (e == Encoding.FLOAT32 ? "1" : "1.." + FixedPoint.MAX_TERMS));
      }
      this.encoding = e;
      this.microShards = microShards;
      this.lengths = tensorLengths.clone();
      this.names = tensorNames.clone();
    }

    /** As {@link #decode(int, long, ByteBuffer, long[][])} for a chunk of a push message. */
    public int decode(TensorChunk c, long[][] staging) {
      return decode(c.getTensor(), c.getOffset(), c.getData().asReadOnlyByteBuffer(), staging);
    }

    /**
     * Checks one chunk, the bytes {@code data[position, limit)} of tensor {@code tensor} from
     * element {@code offset} on, and writes its fixed-point values to {@code staging[tensor][offset,
     * offset + n)}; returns {@code n}. {@code data}'s position is left as it was.
     *
     * @throws IllegalArgumentException naming the tensor and the element: an unknown tensor, bytes
     *     that are not whole elements, a chunk past the tensor's end, a value out of range or not
     *     finite. The staging of that tensor may then hold part of the chunk.
     */
    public int decode(int tensor, long offset, ByteBuffer data, long[][] staging) {
      if (tensor < 0 || tensor >= lengths.length) {
        throw new IllegalArgumentException("chunk names tensor " + tensor + ": expected 0.." + (lengths.length - 1));
      }
      ByteBuffer le = littleEndian(data);
      int n = elements(tensor, offset, le);
      long end = offset + n;
      if (offset < 0 || end > lengths[tensor]) {
        throw new IllegalArgumentException(names[tensor] + " chunk covers elements [" + offset + ", " + end
            + "): expected within [0, " + lengths[tensor] + ")");
      }
      long[] dest = staging[tensor];
      int at = (int) offset;
      switch (encoding) {
        case FLOAT32 -> readFloat32(le, n, dest, at, tensor);
        case PACKED64 -> readPacked64(le, n, dest, at, tensor);
        default -> readBf16(le, n, dest, at, tensor);
      }
      return n;
    }

    /** The element count of a chunk, from its size (and PACKED64's width byte). */
    private int elements(int tensor, long offset, ByteBuffer data) {
      int size = data.remaining();
      String what = names[tensor] + " chunk at element " + offset + " of " + size + " bytes";
      if (size > TensorChunks.MAX_CHUNK_BYTES) {
        throw new IllegalArgumentException(what + ": expected at most " + TensorChunks.MAX_CHUNK_BYTES);
      }
      if (encoding == Encoding.PACKED64) {
        int w = size == 0 ? 0 : data.get(data.position());
        if (size < 2 || w < 1 || w > Long.BYTES || (size - 1) % w != 0) {
          throw new IllegalArgumentException(what + " with width byte " + w
              + ": expected a width 1..8 and at least one whole value");
        }
        return (size - 1) / w;
      }
      int width = encoding == Encoding.FLOAT32 ? Float.BYTES : Short.BYTES;
      if (size == 0 || size % width != 0) {
        throw new IllegalArgumentException(what + ": expected a positive multiple of " + width);
      }
      return size / width;
    }

    /** Float gradients, checked, then rounded once: {@code round(g * 2^40)}. */
    private void readFloat32(ByteBuffer le, int n, long[] dest, int at, int tensor) {
      int p = le.position();
      // a max that NaN poisons: the rounding loop has no branch
      float largest = 0f;
      for (int i = 0; i < n; i++) {
        largest = Math.max(largest, Math.abs(le.getFloat(p + i * Float.BYTES)));
      }
      if (!FixedPoint.inRange(largest)) {
        for (int i = 0; i < n; i++) {
          checkFinite(tensor, at + i, le.getFloat(p + i * Float.BYTES), FixedPoint.LIMIT);
        }
      }
      for (int i = 0; i < n; i++) {
        dest[at + i] = FixedPoint.roundToFixed(le.getFloat(p + i * Float.BYTES));
      }
    }

    /** Zigzag values of {@code w} bytes: whole-long reads while 8 bytes remain, then byte by byte. */
    private void readPacked64(ByteBuffer le, int n, long[] dest, int at, int tensor) {
      int start = le.position();
      int w = le.get(start);
      long mask = w == Long.BYTES ? -1L : (1L << (8 * w)) - 1;
      int p = start + 1;
      int fast = n;
      while (fast > 0 && p + (long) (fast - 1) * w + Long.BYTES > le.limit()) {
        fast--;
      }
      for (int i = 0; i < fast; i++, p += w) {
        long z = le.getLong(p) & mask;
        dest[at + i] = (z >>> 1) ^ -(z & 1);
      }
      for (int i = fast; i < n; i++, p += w) {
        long z = 0;
        for (int b = 0; b < w; b++) {
          z |= (le.get(p + b) & 0xFFL) << (8 * b);
        }
        dest[at + i] = (z >>> 1) ^ -(z & 1);
      }
      // each micro-shard's element is below 2^51 in fixed point, so their sum below 2^51 * shards
      long limit = FixedPoint.FIXED_LIMIT * microShards;
      for (int i = at; i < at + n; i++) {
        if (dest[i] > limit || dest[i] < -limit) { // not Math.abs: it leaves Long.MIN_VALUE negative
          throw new IllegalArgumentException("gradient " + names[tensor] + "[" + i + "] = " + dest[i]
              + " in fixed point: expected at most 2^51 x " + microShards + " micro-shard(s) in magnitude");
        }
      }
    }

    /** bfloat16 values, checked, then {@code round(h * 2^40)} (exact for what a worker sends). */
    private void readBf16(ByteBuffer le, int n, long[] dest, int at, int tensor) {
      int p = le.position();
      double limit = FixedPoint.LIMIT * microShards;
      for (int i = 0; i < n; i++) {
        checkFinite(tensor, at + i, Bfloat16.toFloat(le.getShort(p + i * Short.BYTES)), limit);
      }
      for (int i = 0; i < n; i++) {
        dest[at + i] = Bfloat16.toFixed(le.getShort(p + i * Short.BYTES));
      }
    }

    private void checkFinite(int tensor, int index, float v, double limit) {
      if (!(Math.abs(v) < limit)) {
        throw new IllegalArgumentException("gradient " + names[tensor] + "[" + index + "] = " + v
            + ": expected a finite value below " + (long) limit + " in magnitude");
      }
    }
  }
}
