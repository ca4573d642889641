package io.gradflow.common.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.util.SplitMix64;
import io.gradflow.proto.TensorChunk;
import java.util.List;
import org.junit.jupiter.api.Test;

class TensorChunksTest {

  @Test
  void floatsRoundTripInChunksOfAtMost256KiB() {
    float[] v = new float[700_000];
    SplitMix64 rng = new SplitMix64(1);
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) rng.nextGaussian();
    }
    List<TensorChunk> chunks = TensorChunks.ofFloats(3, v);
    assertEquals(256 * 1024, TensorChunks.MAX_CHUNK_BYTES);
    assertEquals((v.length * 4 + TensorChunks.MAX_CHUNK_BYTES - 1) / TensorChunks.MAX_CHUNK_BYTES, chunks.size());
    float[] back = new float[v.length];
    for (TensorChunk c : chunks) {
      assertTrue(c.getData().size() <= TensorChunks.MAX_CHUNK_BYTES);
      assertEquals(3, c.getTensor());
      TensorChunks.readFloats(c, back);
    }
    assertArrayEquals(v, back);
  }
}
