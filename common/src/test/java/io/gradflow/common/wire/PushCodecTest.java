package io.gradflow.common.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.reduce.FixedPoint;
import io.gradflow.common.util.SplitMix64;
import io.gradflow.proto.PushHeader.Encoding;
import io.gradflow.proto.TensorChunk;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PushCodecTest {
  /** Tensors of 300,000 and 7 elements: several chunks in every encoding, and a short one. */
  private static final int[] LENGTHS = {300_000, 7};
  private static final String[] NAMES = {"layer0.W", "layer0.b"};
  private static final int SHARDS = 4;

  private static long[] randomFixed(int n, long seed) {
    SplitMix64 rng = new SplitMix64(seed);
    long[] q = new long[n];
    for (int i = 0; i < n; i++) {
      q[i] = (long) (rng.nextGaussian() * 0x1p30); // like gradient sums of ~1e-3
    }
    return q;
  }

  private static long[][] staging() {
    return new long[][] {new long[LENGTHS[0]], new long[LENGTHS[1]]};
  }

  /** Decodes every chunk, in order, checking each continues where the last ended. */
  private static long[][] decodeAll(PushCodec.Decoder d, List<TensorChunk> chunks) {
    long[][] staging = staging();
    long[] received = new long[LENGTHS.length];
    for (TensorChunk c : chunks) {
      assertTrue(c.getData().size() <= TensorChunks.MAX_CHUNK_BYTES, "chunk of " + c.getData().size() + " bytes");
      assertEquals(received[c.getTensor()], c.getOffset());
      received[c.getTensor()] += d.decode(c, staging);
    }
    assertEquals(LENGTHS[0], received[0]);
    assertEquals(LENGTHS[1], received[1]);
    return staging;
  }

  @Test
  void float32RoundTripsToTheFixedPointTheWorkerWouldHaveSummed() {
    SplitMix64 rng = new SplitMix64(1);
    float[][] g = new float[2][];
    for (int t = 0; t < 2; t++) {
      g[t] = new float[LENGTHS[t]];
      for (int i = 0; i < g[t].length; i++) {
        g[t][i] = (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(8) - 6));
      }
    }
    g[0][5] = Math.nextDown((float) FixedPoint.LIMIT); // the largest accepted
    g[0][6] = -g[0][5];
    List<TensorChunk> chunks = new java.util.ArrayList<>();
    for (int t = 0; t < 2; t++) {
      chunks.addAll(TensorChunks.ofFloats(t, g[t]));
    }
    long[][] back = decodeAll(PushCodec.decoder(Encoding.FLOAT32, 1, LENGTHS, NAMES), chunks);
    for (int t = 0; t < 2; t++) {
      for (int i = 0; i < g[t].length; i++) {
        if (back[t][i] != ExactGradientSum.toFixed(t, i, g[t][i])) {
          assertEquals(ExactGradientSum.toFixed(t, i, g[t][i]), back[t][i], NAMES[t] + "[" + i + "]");
        }
      }
    }
  }

  @Test
  void packed64RoundTripsBitForBitInTheFewestBytes() {
    long[] q = randomFixed(LENGTHS[0], 2);
    long limit = FixedPoint.FIXED_LIMIT * SHARDS;
    q[3] = limit; // the extremes accepted
    q[4] = -limit;
    long[] small = {0, 1, -1, 2, -2, 127, -128};
    List<TensorChunk> chunks = new java.util.ArrayList<>(PushCodec.packed64(0, q));
    chunks.addAll(PushCodec.packed64(1, small));
    long[][] back = decodeAll(PushCodec.decoder(Encoding.PACKED64, SHARDS, LENGTHS, NAMES), chunks);
    assertArrayEquals(q, back[0]);
    assertArrayEquals(small, back[1]);
    assertEquals(7, chunks.get(0).getData().byteAt(0), "+-2^53 zigzag to 2^54 and 2^54 - 1: 7 bytes");
    assertTrue(chunks.get(1).getData().byteAt(0) <= 5, "gradient sums take at most 5 bytes");
    assertEquals(1, chunks.get(chunks.size() - 1).getData().byteAt(0), "-128 zigzags to 255, 127 to 254: 1 byte");
  }

  @Test
  void zerosPackIntoOneByteEach() {
    List<TensorChunk> chunks = PushCodec.packed64(1, new long[1000]);
    assertEquals(1 + 1000, chunks.get(0).getData().size());
  }

  @Test
  void bf16RoundTripsAsTheBfloat16OfEachSumInTwoBytes() {
    long[] q = randomFixed(LENGTHS[0], 3);
    long[] small = randomFixed(LENGTHS[1], 4);
    List<TensorChunk> chunks = new java.util.ArrayList<>(PushCodec.bf16(0, q));
    chunks.addAll(PushCodec.bf16(1, small));
    assertEquals((q.length + PushCodec.MAX_BF16_ELEMENTS - 1) / PushCodec.MAX_BF16_ELEMENTS + 1, chunks.size());
    assertEquals(2L * (q.length + small.length), chunks.stream().mapToLong(c -> c.getData().size()).sum());
    long[][] back = decodeAll(PushCodec.decoder(Encoding.BF16, SHARDS, LENGTHS, NAMES), chunks);
    for (int i = 0; i < q.length; i++) {
      if (back[0][i] != Bfloat16.toFixed(Bfloat16.fromFixed(q[i]))) {
        assertEquals(Bfloat16.toFixed(Bfloat16.fromFixed(q[i])), back[0][i], "element " + i);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(value = Encoding.class, names = {"FLOAT32", "PACKED64", "BF16"})
  void aPushGoesTensorsLastToFirstEachInElementOrder(Encoding e) {
    ModelSpec spec = ModelSpec.parse("300-200-10", "relu", "", 1);
    Network shape = new Network(spec);
    Gradients single = new Gradients(spec);
    SplitMix64 rng = new SplitMix64(5);
    for (int t = 0; t < single.tensorCount(); t++) {
      for (int i = 0; i < single.tensor(t).length; i++) {
        single.tensor(t)[i] = (float) (rng.nextGaussian() * 1e-2);
      }
    }
    ExactGradientSum sum = new ExactGradientSum(shape);
    single.addTo(sum);
    List<TensorChunk> chunks = PushCodec.encode(e, sum, single);
    int[] lengths = new int[shape.tensorCount()];
    String[] names = new String[lengths.length];
    long[][] staging = new long[lengths.length][];
    for (int t = 0; t < lengths.length; t++) {
      lengths[t] = shape.tensor(t).length;
      names[t] = Network.tensorName(t);
      staging[t] = new long[lengths[t]];
    }
    PushCodec.Decoder d = PushCodec.decoder(e, e == Encoding.FLOAT32 ? 1 : 2, lengths, names);
    int expectedTensor = lengths.length - 1;
    long next = 0;
    for (TensorChunk c : chunks) {
      if (next == lengths[expectedTensor]) {
        expectedTensor--;
        next = 0;
      }
      assertEquals(expectedTensor, c.getTensor());
      assertEquals(next, c.getOffset());
      next += d.decode(c, staging);
    }
    assertEquals(0, expectedTensor);
    assertEquals(lengths[0], next);
    for (int t = 0; t < lengths.length; t++) {
      for (int i = 0; i < lengths[t]; i++) {
        long expected = e == Encoding.BF16 ? Bfloat16.toFixed(Bfloat16.fromFixed(sum.tensor(t)[i])) : sum.tensor(t)[i];
        if (staging[t][i] != expected) {
          assertEquals(expected, staging[t][i], names[t] + "[" + i + "]");
        }
      }
    }
  }

  @Test
  void decodesFromAnyByteBufferAtItsPositionAndLeavesItThere() {
    long[] q = {5, -3, 1L << 40, -(1L << 45), 0, 77};
    // a direct, big-endian buffer with other bytes before and a tight limit after the payload
    ByteBuffer direct = ByteBuffer.allocateDirect(64);
    direct.position(9);
    int length = PushCodec.writePacked64(q, 0, q.length, direct.slice().limit(1 + 6 * q.length));
    assertEquals(1 + 6 * q.length, length);
    direct.limit(9 + length);
    long[][] staging = {new long[10]};
    PushCodec.Decoder d = PushCodec.decoder(Encoding.PACKED64, 2, new int[] {10}, new String[] {"layer1.W"});
    assertEquals(q.length, d.decode(0, 3, direct, staging));
    assertEquals(9, direct.position());
    assertArrayEquals(new long[] {0, 0, 0, 5, -3, 1L << 40, -(1L << 45), 0, 77, 0}, staging[0]);

    ByteBuffer floats = ByteBuffer.allocate(3 + 8).order(ByteOrder.LITTLE_ENDIAN);
    floats.position(3);
    floats.putFloat(3, 0.5f).putFloat(7, -0.25f);
    long[][] single = {new long[2]};
    PushCodec.decoder(Encoding.FLOAT32, 1, new int[] {2}, new String[] {"layer0.b"}).decode(0, 0, floats, single);
    assertArrayEquals(new long[] {1L << 39, -(1L << 38)}, single[0]);
  }

  @Test
  void eachJobTakesTheEncodingsOfItsPrecisionAndNothingTakesFixed64() {
    assertEquals(Encoding.FLOAT32, PushCodec.encodingFor(PushPrecision.FP32, 1));
    assertEquals(Encoding.PACKED64, PushCodec.encodingFor(PushPrecision.FP32, 3));
    assertEquals(Encoding.BF16, PushCodec.encodingFor(PushPrecision.BF16, 1));
    assertEquals(Encoding.BF16, PushCodec.encodingFor(PushPrecision.BF16, 3));
    PushCodec.checkAccepted(Encoding.FLOAT32, PushPrecision.FP32, 1);
    PushCodec.checkAccepted(Encoding.PACKED64, PushPrecision.FP32, 1);
    PushCodec.checkAccepted(Encoding.PACKED64, PushPrecision.FP32, 5);
    PushCodec.checkAccepted(Encoding.BF16, PushPrecision.BF16, 5);
    assertEquals("push encoding FIXED64: expected PACKED64 or FLOAT32",
        refused(() -> PushCodec.checkAccepted(Encoding.FIXED64, PushPrecision.FP32, 2)));
    assertEquals("push encoding BF16: expected PACKED64 or FLOAT32 (this job has push precision fp32)",
        refused(() -> PushCodec.checkAccepted(Encoding.BF16, PushPrecision.FP32, 2)));
    assertEquals("push encoding PACKED64: this job has push precision bf16 and takes BF16 pushes only",
        refused(() -> PushCodec.checkAccepted(Encoding.PACKED64, PushPrecision.BF16, 2)));
    String floats = refused(() -> PushCodec.checkAccepted(Encoding.FLOAT32, PushPrecision.FP32, 2));
    assertEquals("FLOAT32 pushes carry exactly one micro-shard, got 2: the sum of several goes as PACKED64", floats);
    for (Encoding e : List.of(Encoding.FIXED64, Encoding.ENCODING_UNSPECIFIED)) {
      assertTrue(refused(() -> PushCodec.decoder(e, 1, LENGTHS, NAMES)).contains("nothing decodes it"));
      assertFalse(refused(() -> PushCodec.checkAccepted(e, PushPrecision.FP32, 1)).contains("use FIXED64"));
    }
  }

  @Test
  void malformedChunksAreRefusedNamingTheTensorAndTheElement() {
    PushCodec.Decoder packed = PushCodec.decoder(Encoding.PACKED64, SHARDS, LENGTHS, NAMES);
    PushCodec.Decoder floats = PushCodec.decoder(Encoding.FLOAT32, 1, LENGTHS, NAMES);
    PushCodec.Decoder bf16 = PushCodec.decoder(Encoding.BF16, 2, LENGTHS, NAMES);

    // wrong width byte
    assertEquals("layer0.b chunk at element 0 of 3 bytes with width byte 9: expected a width 1..8 and at least one whole value",
        refused(() -> packed.decode(chunk(1, 0, 9, 1, 2), staging())));
    assertTrue(refused(() -> packed.decode(chunk(1, 0, 0, 1, 2), staging())).contains("width byte 0"));
    // truncated: a whole value short of a byte, an odd float, nothing at all
    TensorChunk whole = PushCodec.packed64(1, new long[] {300, -300}).get(0); // width 2: 5 bytes
    TensorChunk cut = whole.toBuilder().setData(whole.getData().substring(0, 4)).build();
    assertEquals("layer0.b chunk at element 0 of 4 bytes with width byte 2: expected a width 1..8 and at least one whole value",
        refused(() -> packed.decode(cut, staging())));
    assertEquals("layer0.W chunk at element 8 of 7 bytes: expected a positive multiple of 4",
        refused(() -> floats.decode(chunk(0, 8, 0, 0, 0, 0, 0, 0, 0), staging())));
    assertEquals("layer0.W chunk at element 0 of 0 bytes: expected a positive multiple of 2",
        refused(() -> bf16.decode(chunk(0, 0), staging())));
    // past the tensor's end, before its start, an unknown tensor, too big a chunk
    assertEquals("layer0.b chunk covers elements [5, 8): expected within [0, 7)",
        refused(() -> packed.decode(PushCodec.packed64(1, new long[3]).get(0).toBuilder().setOffset(5).build(), staging())));
    assertEquals("layer0.b chunk covers elements [-1, 2): expected within [0, 7)",
        refused(() -> floats.decode(TensorChunks.ofFloats(1, new float[3]).get(0).toBuilder().setOffset(-1).build(), staging())));
    assertEquals("chunk names tensor 2: expected 0..1",
        refused(() -> floats.decode(TensorChunks.ofFloats(2, new float[3]).get(0), staging())));
    TensorChunk huge = TensorChunk.newBuilder().setTensor(0)
        .setData(ByteString.copyFrom(new byte[TensorChunks.MAX_CHUNK_BYTES + 4])).build();
    assertEquals("layer0.W chunk at element 0 of 262148 bytes: expected at most 262144", refused(() -> floats.decode(huge, staging())));
    // out of range: fixed point beyond 2^51 per micro-shard, floats and bf16 beyond 2^11 per micro-shard
    long[] over = new long[7];
    over[6] = FixedPoint.FIXED_LIMIT * SHARDS + 1;
    assertEquals("gradient layer0.b[6] = " + over[6] + " in fixed point: expected at most 2^51 x 4 micro-shard(s) in magnitude",
        refused(() -> packed.decode(PushCodec.packed64(1, over).get(0), staging())));
    over[6] = Long.MIN_VALUE;
    assertTrue(refused(() -> packed.decode(PushCodec.packed64(1, over).get(0), staging())).startsWith("gradient layer0.b[6] = "));
    float[] g = new float[7];
    g[2] = 2048f;
    assertEquals("gradient layer0.b[2] = 2048.0: expected a finite value below 2048 in magnitude",
        refused(() -> floats.decode(TensorChunks.ofFloats(1, g).get(0), staging())));
    // non-finite
    g[2] = 0;
    g[4] = Float.NaN;
    assertEquals("gradient layer0.b[4] = NaN: expected a finite value below 2048 in magnitude",
        refused(() -> floats.decode(TensorChunks.ofFloats(1, g).get(0), staging())));
    g[4] = Float.NEGATIVE_INFINITY;
    assertTrue(refused(() -> floats.decode(TensorChunks.ofFloats(1, g).get(0), staging())).startsWith("gradient layer0.b[4] = -Infinity"));
  }

  @Test
  void aRefusedBf16ChunkWritesNothing() {
    PushCodec.Decoder bf16 = PushCodec.decoder(Encoding.BF16, 2, LENGTHS, NAMES);
    short half = Bfloat16.fromFloat(0.5f);
    short nan = Bfloat16.fromFloat(Float.NaN);
    long[][] staging = staging();
    assertEquals("gradient layer0.b[3] = NaN: expected a finite value below 4096 in magnitude",
        refused(() -> bf16.decode(chunk(1, 2, half, half >> 8, nan, nan >> 8), staging)));
    assertArrayEquals(new long[7], staging[1]);
    short big = Bfloat16.fromFloat(4096f); // 2^11 for each of the 2 micro-shards
    assertEquals("gradient layer0.b[0] = 4096.0: expected a finite value below 4096 in magnitude",
        refused(() -> bf16.decode(chunk(1, 0, big, big >> 8), staging)));
    short fine = Bfloat16.fromFloat(4080f); // the largest bfloat16 below 4096
    bf16.decode(chunk(1, 0, fine, fine >> 8), staging);
    assertEquals(4080L << 40, staging[1][0]);
  }

  private static TensorChunk chunk(int tensor, long offset, int... bytes) {
    byte[] b = new byte[bytes.length];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) bytes[i];
    }
    return TensorChunk.newBuilder().setTensor(tensor).setOffset(offset).setData(ByteString.copyFrom(b)).build();
  }

  private static String refused(org.junit.jupiter.api.function.Executable call) {
    return assertThrows(IllegalArgumentException.class, call).getMessage();
  }
}
