package io.gradflow.common.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.proto.PushHeader.Encoding;
import io.gradflow.proto.TensorChunk;
import java.util.List;
import org.junit.jupiter.api.Test;

class ParameterRangesTest {
  private static final int C = ParameterRanges.CHUNK_ELEMENTS;
  /** 784-256-128-10: layer0.W is 3 full chunks and a tail, the rest one chunk each. */
  private static final int[] MNIST = {784 * 256, 256, 256 * 128, 128, 128 * 10, 10};

  @Test
  void oneServerOwnsEverything() {
    List<ParameterRange> ranges = ParameterRanges.split(MNIST, 1);
    assertEquals(1, ranges.size());
    assertTrue(ranges.get(0).isWhole(MNIST));
  }

  @Test
  void rangesAreContiguousChunkAlignedAndCoverEveryElementOnce() {
    for (int servers = 1; servers <= ParameterRanges.chunkCount(MNIST); servers++) {
      List<ParameterRange> ranges = ParameterRanges.split(MNIST, servers);
      long flat = 0; // the next flattened element a range must start at
      for (ParameterRange r : ranges) {
        assertTrue(r.elements() > 0, "range " + r.index() + " of " + servers + " is empty");
        for (int t = 0; t < MNIST.length; t++) {
          if (r.lengthIn(t) == 0) {
            continue;
          }
          assertEquals(flat, flatIndex(t, r.from()[t]), servers + " servers: " + r + " leaves a gap or overlaps");
          assertEquals(0, r.from()[t] % C, "a range starts on a chunk boundary");
          assertTrue(r.end()[t] == MNIST[t] || r.end()[t] % C == 0, "a range ends on a chunk boundary");
          flat = flatIndex(t, r.end()[t]);
        }
      }
      assertEquals(flatIndex(MNIST.length - 1, MNIST[MNIST.length - 1]), flat, "every element is in a range");
    }
  }

  @Test
  void twoServersSplitByBytesAndTheSecondSpansTensors() {
    List<ParameterRange> ranges = ParameterRanges.split(MNIST, 2);
    // 235,146 parameters: the boundary nearest half of them is layer0.W's element 2 * 65,536
    assertArrayEquals(new int[] {0, 0, 0, 0, 0, 0}, ranges.get(0).from());
    assertArrayEquals(new int[] {2 * C, 0, 0, 0, 0, 0}, ranges.get(0).end());
    assertArrayEquals(new int[] {2 * C, 0, 0, 0, 0, 0}, ranges.get(1).from());
    assertArrayEquals(MNIST, ranges.get(1).end());
    long total = 235_146;
    assertTrue(Math.abs(ranges.get(0).elements() - total / 2) <= C / 2 + C / 4, "balanced within a chunk");
  }

  @Test
  void bytesAreBalancedWithinAChunk() {
    int[] big = {8 * C, 64, 4 * C, 64};
    List<ParameterRange> ranges = ParameterRanges.split(big, 3);
    long total = 12L * C + 128;
    for (ParameterRange r : ranges) {
      assertTrue(Math.abs(r.elements() - total / 3) <= C, r + " holds " + r.elements() + " of " + total);
    }
  }

  @Test
  void aModelWithFewerChunksThanServersIsRefused() {
    int[] tiny = {4 * 3, 3, 3 * 2, 2}; // 4-3-2: four tensors, four chunks
    assertEquals(4, ParameterRanges.split(tiny, 4).size());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ParameterRanges.split(tiny, 5));
    assertTrue(e.getMessage().contains("4 chunk(s)") && e.getMessage().contains("5 servers"), e.getMessage());
  }

  @Test
  void theWholeModelAsOneRangeIsChunkedAsTheWholeTensorsAre() {
    Network net = Network.initialize(ModelSpec.parse("300-250-10", "relu", "he", 1));
    ParameterRange whole = ParameterRange.whole(net.tensorLengths());
    float[][] tensors = new float[net.tensorCount()][];
    for (int t = 0; t < tensors.length; t++) {
      tensors[t] = net.tensor(t);
    }
    List<TensorChunk> expected = new java.util.ArrayList<>();
    for (int t = 0; t < tensors.length; t++) {
      expected.addAll(TensorChunks.ofFloats(t, tensors[t]));
    }
    assertEquals(expected, RangeChunks.floats(whole, tensors));
    ExactGradientSum sum = new ExactGradientSum(net);
    for (int t = 0; t < tensors.length; t++) {
      sum.addFloats(t, tensors[t], 0, tensors[t].length);
    }
    assertEquals(PushCodec.encode(Encoding.PACKED64, sum, new Gradients(net.spec())),
        RangeChunks.push(Encoding.PACKED64, whole, sum, new Gradients(net.spec())));
  }

  private static long flatIndex(int t, int element) {
    long n = 0;
    for (int i = 0; i < t; i++) {
      n += MNIST[i];
    }
    return n + element;
  }
}
