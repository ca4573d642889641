package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 20-million-parameter network (80 MB of float32) trains through the parameter server: weights
 * and gradients travel in chunks of at most 1 MiB, far from gRPC's 4 MiB message limit.
 */
class LargeModelIT {
  @TempDir Path tmp;

  @Test
  void twentyMillionParametersTrainThroughTheServer() throws Exception {
    Path out = tmp.resolve("large");
    // no warm-up: 40 passes of this model would cost more than the job, and the test is about the wire
    Jobs.Run r = Jobs.runWithFullJit(List.of("train", "--workers", "2", "--out", out.toString(),
        "--dataset", "spirals", "--model", "2-4480-4480-3", "--activation", "relu", "--batch", "8",
        "--micro-shards", "2", "--max-steps", "3", "--lr", "0.01", "--log-every", "1", "--warmup-passes", "0"),
        tmp.resolve("large.log"), 600);
    assertEquals(0, r.exitCode(), r.err() + r.out());
    long parameters = Jobs.summary(out).parameters();
    assertTrue(parameters >= 20_000_000L, "parameters: " + parameters);
    assertEquals(3, Jobs.summary(out).steps());
    assertEquals(2, Jobs.summary(out).workers());
  }
}
