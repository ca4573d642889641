package io.gradflow.ps;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.gradflow.proto.PushHeader;
import java.util.List;
import org.junit.jupiter.api.Test;

class StepTimingsTest {
  private static PushHeader push(String worker, long computeMillis, long waitMillis) {
    return PushHeader.newBuilder().setWorkerId(worker).setComputeNanos(computeMillis * 1_000_000)
        .setPullWaitNanos(waitMillis * 1_000_000).build();
  }

  @Test
  void eachWorkersPartsAreItsOwnMeansAfterTheWarmUp() {
    StepTimings t = new StepTimings(1);
    t.addPush(0, push("w1", 1000, 1000), 0); // warm-up: left out
    for (long step = 1; step <= 2; step++) {
      t.addPush(step, push("w1", 10 * step, 2), 0);
      t.addPush(step, push("w2", 30, 4), 0);
      t.addUpdate(step, 0);
    }
    StepTimings.Split split = t.split();
    assertEquals((10 + 20 + 30 + 30) / 4.0, split.computeMillis(), 1e-9);
    assertEquals(List.of(new StepTimings.WorkerSplit("w1", 2, 15, 0, 2, 0), new StepTimings.WorkerSplit("w2", 2, 30, 0, 4, 0)),
        split.workers());
  }
}
