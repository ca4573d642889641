package io.gradflow.common.shm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.reduce.ExactGradientSum;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shared-memory files carry the weights and the pushes bit for bit, a reader never uses a
 * slot the server overwrote while it copied, and a file of another job or model is refused.
 */
class SharedMemoryFilesTest {
  private static final long TOKEN = 0x5eed_1234_abcdL;
  @TempDir Path dir;
  private final Network net = Network.initialize(ModelSpec.parse("7-5-3", "relu", "", 11));

  private int[] lengths() {
    return net.tensorLengths();
  }

  @Test
  void weightsWrittenByTheServerAreReadByAWorkerBitForBit() throws IOException {
    SharedWeights server = SharedWeights.create(dir.resolve("weights"), lengths(), 2, TOKEN);
    SharedWeights worker = SharedWeights.open(dir.resolve("weights"), lengths(), TOKEN);
    server.write(0, net);
    Network copy = Network.initialize(ModelSpec.parse("7-5-3", "relu", "", 99));
    assertNotEquals(net.sha256(), copy.sha256());
    assertTrue(worker.read(0, copy));
    assertEquals(net.sha256(), copy.sha256());
    net.tensor(0)[3] = Float.MIN_VALUE; // a subnormal survives too
    server.write(1, net);
    assertTrue(worker.read(1, copy));
    assertEquals(net.sha256(), copy.sha256());
  }

  @Test
  void aVersionTheServerHasOverwrittenIsNotRead() throws IOException {
    SharedWeights server = SharedWeights.create(dir.resolve("weights"), lengths(), 2, TOKEN);
    SharedWeights worker = SharedWeights.open(dir.resolve("weights"), lengths(), TOKEN);
    Network copy = net.copy();
    assertFalse(worker.read(0, copy), "nothing written yet");
    server.write(0, net);
    server.write(1, net);
    server.write(2, net); // slot 0 now holds version 2
    assertFalse(worker.read(0, copy));
    assertTrue(worker.read(1, copy));
    assertTrue(worker.read(2, copy));
  }

  @Test
  void aFileOfAnotherJobOrModelIsRefused() throws IOException {
    SharedWeights.create(dir.resolve("weights"), lengths(), 2, TOKEN);
    assertThrows(IOException.class, () -> SharedWeights.open(dir.resolve("weights"), lengths(), TOKEN + 1));
    int[] other = lengths();
    other[0]++;
    assertThrows(IOException.class, () -> SharedWeights.open(dir.resolve("weights"), other, TOKEN));
    assertThrows(IOException.class, () -> SharedPushArea.open(dir.resolve("weights"), lengths(), TOKEN),
        "a weights file is not a push file");
    assertThrows(IOException.class, () -> SharedWeights.open(dir.resolve("missing"), lengths(), TOKEN));
  }

  @Test
  void aPushIsCopiedOutExactlyAndOutOfRangeValuesAreRefusedByName() throws IOException {
    SharedPushArea server = SharedPushArea.create(SharedPushArea.fileFor(dir, "w-1"), lengths(), TOKEN);
    SharedPushArea worker = SharedPushArea.open(SharedPushArea.fileFor(dir, "w-1"), lengths(), TOKEN);
    ExactGradientSum sum = sums(net, 40);
    sum.tensor(1)[0] = -(1L << 51);
    long[][] staging = pushedExactly(worker, server, sum);
    sum.tensor(2)[4] = (1L << 51) + 1;
    worker.write(sum);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> server.readInto(staging, 1L << 51, NAMES));
    assertTrue(e.getMessage().contains("layer1.W[4]"), e.getMessage());
    sum.tensor(2)[4] = Long.MIN_VALUE;
    worker.write(sum);
    assertThrows(IllegalArgumentException.class, () -> server.readInto(staging, 1L << 51, NAMES));
  }

  /** The branch-free range check agrees with |v| <= limit at its edges and at both ends of the long range. */
  @Test
  void theRangeCheckIsExactAtItsEdges() {
    long limit = 3L << 51;
    long[] inside = {0, limit, -limit, 1, -1};
    long[] outside = {limit + 1, -limit - 1, Long.MAX_VALUE, Long.MIN_VALUE, Long.MAX_VALUE - limit + 1, Long.MIN_VALUE + limit, 1L << 62, -(1L << 62)};
    for (long v : inside) {
      assertTrue(SharedPushArea.withinLimit(new long[] {7, v, -7}, 0, 3, limit), Long.toString(v));
    }
    for (long v : outside) {
      assertFalse(SharedPushArea.withinLimit(new long[] {7, v, -7}, 0, 3, limit), Long.toString(v));
      assertTrue(SharedPushArea.withinLimit(new long[] {7, v, -7}, 0, 1, limit), "only [from, end) counts");
      assertTrue(SharedPushArea.withinLimit(new long[] {7, v, -7}, 2, 3, limit), "only [from, end) counts");
    }
  }

  private static final String[] NAMES = {"layer0.W", "layer0.b", "layer1.W", "layer1.b"};

  /** Sums shaped like {@code net}: element i of tensor t is {@code +-(i << shift) + t}, signs alternating. */
  private static ExactGradientSum sums(Network net, int shift) {
    ExactGradientSum sum = new ExactGradientSum(net);
    for (int t = 0; t < sum.tensorCount(); t++) {
      for (int i = 0; i < sum.tensor(t).length; i++) {
        sum.tensor(t)[i] = (i % 2 == 0 ? 1 : -1) * ((long) i << shift) + t;
      }
    }
    return sum;
  }

  /** Writes {@code sum} on the worker's side, reads it on the server's into fresh staging, checks it came exactly; returns the staging. */
  private static long[][] pushedExactly(SharedPushArea worker, SharedPushArea server, ExactGradientSum sum) {
    worker.write(sum);
    long[][] staging = new long[sum.tensorCount()][];
    for (int t = 0; t < staging.length; t++) {
      staging[t] = new long[sum.tensor(t).length];
    }
    server.readInto(staging, 1L << 51, NAMES);
    for (int t = 0; t < staging.length; t++) {
      assertArrayEquals(sum.tensor(t), staging[t]);
    }
    return staging;
  }

  /** A tensor longer than the block the copy checks at a time: copied exactly, and a bad element in a later block named by its index. */
  @Test
  void aLongTensorIsCopiedAndCheckedBlockByBlock() throws IOException {
    Network big = new Network(ModelSpec.parse("100-50-3", "relu", "", 1)); // layer0.W: 5,000 elements
    SharedPushArea server = SharedPushArea.create(SharedPushArea.fileFor(dir, "w-2"), big.tensorLengths(), TOKEN);
    SharedPushArea worker = SharedPushArea.open(SharedPushArea.fileFor(dir, "w-2"), big.tensorLengths(), TOKEN);
    ExactGradientSum sum = sums(big, 38);
    long[][] staging = pushedExactly(worker, server, sum);
    sum.tensor(0)[4500] = -(1L << 51) - 1;
    worker.write(sum);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> server.readInto(staging, 1L << 51, NAMES));
    assertTrue(e.getMessage().startsWith("push layer0.W[4500] = "), e.getMessage());
  }
}
