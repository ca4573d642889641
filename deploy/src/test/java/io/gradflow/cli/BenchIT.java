package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code gradflow bench} with worker processes: the launcher's job, read back as the server's time split. */
class BenchIT {
  @Test
  void aDistributedBenchReportsTheTimeSplitAndTheWire() throws Exception {
    Jobs.Run r = Jobs.run(List.of("bench", "--workers", "2", "--model", "6-8-3", "--batch", "16", "--steps", "25",
        "--push-precision", "bf16", "--json"));
    assertEquals(0, r.exitCode(), r.err());
    Map<?, ?> fields = io.gradflow.common.report.Json.parse(r.out().strip(), Map.class, "bench --json");
    assertEquals(2.0, fields.get("workers"));
    assertEquals("bf16", fields.get("push_precision"));
    for (String key : List.of("samples_per_second", "compute_ms", "push_ms", "bytes_per_worker_per_step",
        "wire_to_parameter_ratio")) {
      assertTrue((Double) fields.get(key) > 0, key + " in " + r.out());
    }
    assertTrue(Jobs.allGone(ProcessHandle.current().descendants().toList(), 20), "no child JVM outlives the bench");
  }
}
