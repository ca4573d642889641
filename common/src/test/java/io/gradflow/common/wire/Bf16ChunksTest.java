package io.gradflow.common.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.gradflow.common.util.SplitMix64;
import io.gradflow.proto.TensorChunk;
import java.util.List;
import org.junit.jupiter.api.Test;

class Bf16ChunksTest {
  @Test
  void fixedPointSumsRoundTripAsTheirBfloat16InTwoBytesAnElement() {
    long[] q = new long[300_000];
    SplitMix64 rng = new SplitMix64(3);
    for (int i = 0; i < q.length; i++) {
      q[i] = (long) (rng.nextGaussian() * (1L << 30));
    }
    List<TensorChunk> chunks = Bf16Chunks.ofFixed(4, q);
    assertEquals((q.length + Bf16Chunks.MAX_ELEMENTS - 1) / Bf16Chunks.MAX_ELEMENTS, chunks.size());
    long[] back = new long[q.length];
    long[] expected = new long[q.length];
    int total = 0;
    for (TensorChunk c : chunks) {
      assertEquals(4, c.getTensor());
      assertTrue(c.getData().size() <= TensorChunks.MAX_CHUNK_BYTES);
      assertEquals(c.getOffset(), total);
      total += Bf16Chunks.readFixed(c, back, (int) c.getOffset(), 2048, "layer2.W");
    }
    assertEquals(q.length, total);
    assertEquals(2L * q.length, chunks.stream().mapToLong(c -> c.getData().size()).sum());
    for (int i = 0; i < q.length; i++) {
      expected[i] = Bfloat16.toFixed(Bfloat16.fromFixed(q[i]));
    }
    assertArrayEquals(expected, back);
  }

  @Test
  void aNonFiniteOrTooLargeElementIsRefusedByNameAndNothingIsWritten() {
    short[] values = {Bfloat16.fromFloat(0.5f), Bfloat16.fromFloat(Float.NaN), Bfloat16.fromFloat(Float.POSITIVE_INFINITY)};
    TensorChunk nan = chunk(values);
    long[] dest = new long[8];
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Bf16Chunks.readFixed(nan, dest, 5, 2048, "layer1.b"));
    assertTrue(e.getMessage().contains("gradient layer1.b[6] = NaN"), e.getMessage());
    assertArrayEquals(new long[8], dest);
    TensorChunk big = chunk(new short[] {Bfloat16.fromFloat(4096f)});
    e = assertThrows(IllegalArgumentException.class, () -> Bf16Chunks.readFixed(big, dest, 0, 4096, "layer0.W"));
    assertTrue(e.getMessage().contains("gradient layer0.W[0] = 4096.0: expected a finite value below 4096"), e.getMessage());
  }

  private static TensorChunk chunk(short[] values) {
    byte[] b = new byte[2 * values.length];
    for (int i = 0; i < values.length; i++) {
      b[2 * i] = (byte) values[i];
      b[2 * i + 1] = (byte) (values[i] >>> 8);
    }
    return TensorChunk.newBuilder().setTensor(0).setOffset(0).setData(ByteString.copyFrom(b)).build();
  }
}
