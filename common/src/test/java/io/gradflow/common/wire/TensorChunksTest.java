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

class TensorChunksTest {

  @Test
  void floatsRoundTripInChunksOfAtMostOneMebibyte() {
    float[] v = new float[700_000];
    SplitMix64 rng = new SplitMix64(1);
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) rng.nextGaussian();
    }
    List<TensorChunk> chunks = TensorChunks.ofFloats(3, v);
    assertEquals((v.length * 4 + TensorChunks.MAX_CHUNK_BYTES - 1) / TensorChunks.MAX_CHUNK_BYTES, chunks.size());
    float[] back = new float[v.length];
    for (TensorChunk c : chunks) {
      assertTrue(c.getData().size() <= TensorChunks.MAX_CHUNK_BYTES);
      assertEquals(3, c.getTensor());
      TensorChunks.readFloats(c, back);
    }
    assertArrayEquals(v, back);
  }

  @Test
  void packedLongsRoundTripWithTheFewestBytes() {
    long[] v = new long[300_000];
    SplitMix64 rng = new SplitMix64(2);
    for (int i = 0; i < v.length; i++) {
      v[i] = (long) (rng.nextGaussian() * (1L << 30)); // like gradients of ~1e-3 at 2^40 scale
    }
    v[5] = Long.MIN_VALUE + 1;
    List<TensorChunk> chunks = TensorChunks.ofPackedLongs(0, v);
    long[] back = new long[v.length];
    long[] scratch = new long[TensorChunks.MAX_PACKED_ELEMENTS];
    for (TensorChunk c : chunks) {
      assertTrue(c.getData().size() <= TensorChunks.MAX_CHUNK_BYTES);
      int n = TensorChunks.readPackedLongs(c, scratch);
      assertEquals(n, TensorChunks.packedCount(c));
      System.arraycopy(scratch, 0, back, (int) c.getOffset(), n);
    }
    assertArrayEquals(v, back);
    assertEquals(8, chunks.get(0).getData().byteAt(0), "the chunk with the extreme value needs all 8 bytes");
    assertTrue(chunks.get(1).getData().byteAt(0) <= 5, "small values take at most 5 bytes");
  }

  @Test
  void zerosPackIntoOneByteEach() {
    List<TensorChunk> chunks = TensorChunks.ofPackedLongs(1, new long[1000]);
    assertEquals(1 + 1000, chunks.get(0).getData().size());
  }

  @Test
  void malformedChunksAreRefusedWithTheNumbers() {
    int[] lengths = {10};
    String[] names = {"layer0.W"};
    TensorChunk tooLong = TensorChunks.ofPackedLongs(0, new long[12]).get(0);
    var e = assertThrows(IllegalArgumentException.class, () -> TensorChunks.checkPackedFits(tooLong, lengths, names));
    assertTrue(e.getMessage().contains("[0, 12): expected within [0, 10)"), e.getMessage());
    TensorChunk badWidth = TensorChunk.newBuilder().setTensor(0).setData(ByteString.copyFrom(new byte[] {9, 1, 2})).build();
    assertThrows(IllegalArgumentException.class, () -> TensorChunks.checkPackedFits(badWidth, lengths, names));
    TensorChunk wrongTensor = TensorChunks.ofFloats(4, new float[2]).get(0);
    assertThrows(IllegalArgumentException.class, () -> TensorChunks.checkFits(wrongTensor, lengths, 4, names));
  }
}
