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

  @Test
  void aListOfWorkerCountsIsOneTableWithTheRatioToTheSingleProcess() throws Exception {
    Jobs.Run r = Jobs.run(List.of("bench", "--workers", "0,2", "--model", "6-8-3", "--batch", "16", "--steps", "25",
        "--json"));
    assertEquals(0, r.exitCode(), r.err());
    Map<?, ?> fields = io.gradflow.common.report.Json.parse(r.out().strip(), Map.class, "bench --json");
    List<?> rows = (List<?>) fields.get("configurations");
    assertEquals(2, rows.size(), r.out());
    Map<?, ?> single = (Map<?, ?>) rows.get(0);
    Map<?, ?> two = (Map<?, ?>) rows.get(1);
    assertEquals(0.0, single.get("workers"));
    assertEquals(2.0, two.get("workers"));
    assertEquals(1.0, (Double) single.get("ratio_to_single_process"), 1e-12);
    assertEquals((Double) two.get("samples_per_second") / (Double) single.get("samples_per_second"),
        (Double) two.get("ratio_to_single_process"), 1e-9);
    assertTrue((Double) two.get("compute_ms") > 0 && (Double) two.get("bytes_per_worker_per_step") > 0, r.out());
    assertTrue(!single.containsKey("compute_ms"), "a single process has no wire split: " + r.out());
  }

  @Test
  void shardedServersAddTheServerCountAndEachServersShareOfTheWire() throws Exception {
    Jobs.Run r = Jobs.run(List.of("bench", "--workers", "2", "--servers", "1,2", "--model", "6-8-3", "--batch", "16",
        "--steps", "25", "--json"));
    assertEquals(0, r.exitCode(), r.err());
    Map<?, ?> fields = io.gradflow.common.report.Json.parse(r.out().strip(), Map.class, "bench --json");
    List<?> rows = (List<?>) fields.get("configurations");
    assertEquals(2, rows.size(), r.out());
    Map<?, ?> one = (Map<?, ?>) rows.get(0);
    Map<?, ?> two = (Map<?, ?>) rows.get(1);
    assertEquals(1.0, one.get("servers"));
    assertTrue(!one.containsKey("server_timings"), "one server has no per-server split: " + r.out());
    assertEquals(2.0, two.get("servers"));
    List<?> servers = (List<?>) two.get("server_timings");
    assertEquals(2, servers.size(), r.out());
    double parameters = 0;
    for (int i = 0; i < 2; i++) {
      Map<?, ?> s = (Map<?, ?>) servers.get(i);
      assertEquals((double) i, s.get("index"));
      parameters += (Double) s.get("parameters");
      assertTrue((Double) s.get("bytes_in_per_step") > 0 && (Double) s.get("bytes_out_per_step") > 0, r.out());
    }
    assertEquals(6 * 8 + 8 + 8 * 3 + 3, parameters, 0.0, "the ranges cover the model: " + r.out());

    Jobs.Run text = Jobs.run(List.of("bench", "--workers", "2", "--servers", "2", "--model", "6-8-3", "--batch", "16",
        "--steps", "25"));
    assertEquals(0, text.exitCode(), text.err());
    assertTrue(text.out().contains("2 workers, 2 servers") && text.out().contains("server 1:"), text.out());
    assertTrue(Jobs.allGone(ProcessHandle.current().descendants().toList(), 20), "no child JVM outlives the bench");
  }
}
