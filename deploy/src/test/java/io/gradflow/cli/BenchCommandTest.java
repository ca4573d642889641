package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code gradflow bench} of a single process: it trains in this JVM and reports what the run measured. */
class BenchCommandTest {
  @Test
  void aSingleProcessBenchReportsItsThroughputAsJson() {
    Jobs.Run r = Jobs.run(List.of("bench", "--workers", "0", "--model", "6-8-3", "--batch", "16", "--steps", "25",
        "--kernel-impl", "ejml", "--json"));
    assertEquals(0, r.exitCode(), r.err());
    String json = r.out().strip();
    Map<?, ?> fields = io.gradflow.common.report.Json.parse(json, Map.class, "bench --json");
    assertTrue(json.startsWith("{\"model\":\"6-8-3\",\"batch\":16,\"workers\":0,\"servers\":1,\"steps\":25,\"kernels\":\"ejml\","
        + "\"push_precision\":\"none\",\"samples_per_second\":"), json);
    double samplesPerSecond = (Double) fields.get("samples_per_second");
    assertTrue(samplesPerSecond > 0, json);
    assertEquals(1000.0 * 16 / samplesPerSecond, (Double) fields.get("step_ms"), 1e-6);
    assertFalse(fields.containsKey("compute_ms"), "only a distributed run has a time split: " + json);
    assertTrue((Double) fields.get("kernel_gflops") > 0, json);
  }

  @Test
  void moreWorkersThanMicroShardsIsAUsageError() {
    Jobs.Run r = Jobs.run(List.of("bench", "--workers", "5", "--batch", "4", "--steps", "5"));
    assertEquals(ExitCode.USAGE.code(), r.exitCode(), r.err());
    assertTrue(r.err().contains("--workers 5 exceeds --micro-shards 4"), r.err());
  }

  @Test
  void repeatedRunsReportTheMedianOfEveryRun() {
    Jobs.Run r = Jobs.run(List.of("bench", "--workers", "0", "--runs", "3", "--model", "6-8-3", "--batch", "16",
        "--steps", "30", "--kernel-impl", "ejml", "--target-loss", "5", "--json"));
    assertEquals(0, r.exitCode(), r.err());
    Map<?, ?> fields = io.gradflow.common.report.Json.parse(r.out().strip(), Map.class, "bench --json");
    assertEquals(3.0, fields.get("runs"));
    List<?> rows = (List<?>) fields.get("configurations");
    assertEquals(1, rows.size(), r.out());
    Map<?, ?> row = (Map<?, ?>) rows.get(0);
    List<?> each = (List<?>) row.get("samples_per_second_runs");
    assertEquals(3, each.size(), r.out());
    double[] values = each.stream().mapToDouble(v -> (Double) v).sorted().toArray();
    assertEquals(values[1], (Double) row.get("samples_per_second"), 1e-9, "the median of the three runs");
    assertEquals(1.0, (Double) row.get("ratio_to_single_process"), 1e-12);
    assertTrue((Double) row.get("seconds_to_loss") >= 0, "a loss of 5 is reached at the first logged step: " + r.out());
  }

  @Test
  void theMedianOfAnEvenCountIsTheMeanOfTheMiddleTwo() {
    assertEquals(2.5, BenchSeries.median(new double[] {4, 1, 3, 2}));
    assertEquals(3.0, BenchSeries.median(new double[] {5, 3, 1}));
  }

  @Test
  void aNegativeWorkerCountInTheListIsAUsageError() {
    Jobs.Run r = Jobs.run(List.of("bench", "--workers", "0,-1", "--steps", "5"));
    assertEquals(ExitCode.USAGE.code(), r.exitCode(), r.err());
    assertTrue(r.err().contains("--workers 0,-1: expected every worker count >= 0"), r.err());
  }

  /** Each count out of range is named with the value given; so is a --batch whose data set would be too large. */
  @Test
  void aBadCountIsAUsageErrorNamingTheOptionAndTheValue() {
    String[][] bad = {{"--steps", "0"}, {"--runs", "0"}, {"--repeats", "0"}, {"--batch", "0"}, {"--batch", "-3"}};
    for (String[] option : bad) {
      Jobs.Run r = Jobs.run(List.of("bench", "--model", "4-8-3", "--workers", "0", "--steps", "5", option[0], option[1]));
      assertEquals(ExitCode.USAGE.code(), r.exitCode(), r.err());
      assertTrue(r.err().lines().findFirst().orElseThrow().contains(option[0] + " " + option[1] + ": expected a positive number"), r.err());
    }
    Jobs.Run r = Jobs.run(List.of("bench", "--model", "4-8-3", "--workers", "0", "--steps", "5", "--batch", "999999999"));
    assertEquals(ExitCode.USAGE.code(), r.exitCode(), r.err());
    assertTrue(r.err().lines().findFirst().orElseThrow().contains("--batch 999999999: the bench's data set"), r.err());
  }

  @Test
  void aServerCountBelowOneIsAUsageError() {
    Jobs.Run r = Jobs.run(List.of("bench", "--workers", "2", "--servers", "1,0", "--steps", "5"));
    assertEquals(ExitCode.USAGE.code(), r.exitCode(), r.err());
    assertTrue(r.err().contains("--servers 1,0: expected every server count >= 1"), r.err());
  }

  @Test
  void aModelTooSmallForTheServersIsAUsageErrorBeforeAnyJob() {
    Jobs.Run r = Jobs.run(List.of("bench", "--workers", "2", "--servers", "2,7", "--model", "6-8-3", "--steps", "5"));
    assertEquals(ExitCode.USAGE.code(), r.exitCode(), r.err());
    assertTrue(r.err().contains("--servers 7: model 6-8-3 is too small to shard"), r.err());
  }

  @Test
  void theSingleProcessRunsOnceWhateverTheServerCounts() {
    BenchSeries series = new BenchSeries(List.of(0, 2, 4), List.of(1, 2), 1, (n, s) -> null);
    assertEquals(List.of(new BenchSeries.Config(0, 1), new BenchSeries.Config(2, 1), new BenchSeries.Config(2, 2),
        new BenchSeries.Config(4, 1), new BenchSeries.Config(4, 2)), series.configurations());
  }
}
