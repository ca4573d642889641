package io.gradflow.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SamplingPlanTest {

  @Test
  void epochPermutationsDependOnlyOnSeedAndEpoch() {
    SamplingPlan a = new SamplingPlan(100, 10, 4, 7);
    SamplingPlan b = new SamplingPlan(100, 10, 4, 7);
    assertArrayEquals(a.permutation(3), b.permutation(3));
    int[] e0 = a.permutation(0).clone();
    int[] e1 = a.permutation(1).clone();
    assertFalse(Arrays.equals(e0, e1));
    int[] sorted = e1.clone();
    Arrays.sort(sorted);
    for (int i = 0; i < sorted.length; i++) {
      assertEquals(i, sorted[i]);
    }
    assertFalse(Arrays.equals(e0, new SamplingPlan(100, 10, 4, 8).permutation(0)));
  }

  @Test
  void microShardsPartitionTheBatch() {
    SamplingPlan plan = new SamplingPlan(1000, 10, 4, 1);
    int rows = 0;
    for (int m = 0; m < 4; m++) {
      assertEquals(rows, plan.shardStart(m));
      rows += plan.shardRows(m);
    }
    assertEquals(10, rows);
    assertEquals(3, plan.maxShardRows());
  }

  @Test
  void workersOwnContiguousRangesCoveringEveryShard() {
    SamplingPlan plan = new SamplingPlan(1000, 64, 8, 1);
    for (int workers = 1; workers <= 8; workers++) {
      assertEquals(0, plan.firstShard(0, workers));
      assertEquals(8, plan.firstShard(workers, workers));
      for (int w = 0; w < workers; w++) {
        int size = plan.firstShard(w + 1, workers) - plan.firstShard(w, workers);
        assertEquals(8.0 / workers, size, 1.0);
      }
    }
  }

  @Test
  void stepsWalkTheEpochAndDropThePartialBatch() {
    SamplingPlan plan = new SamplingPlan(105, 10, 2, 1);
    assertEquals(10, plan.stepsPerEpoch());
    assertEquals(0, plan.epochOf(9));
    assertEquals(1, plan.epochOf(10));
    assertEquals(90, plan.batchOffset(9));
    assertEquals(0, plan.batchOffset(10));
  }

  @Test
  void refusesImpossibleSizes() {
    assertThrows(IllegalArgumentException.class, () -> new SamplingPlan(10, 11, 1, 1));
    assertThrows(IllegalArgumentException.class, () -> new SamplingPlan(10, 4, 5, 1));
    assertThrows(IllegalArgumentException.class, () -> new SamplingPlan(10, 0, 1, 1));
  }
}
