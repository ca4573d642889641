package io.gradflow.common.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.train.JobInfo;
import io.gradflow.common.train.TrainingConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResumedMetricsTest {
  @TempDir Path dir;

  private static JobInfo job(double lr, long firstStep) {
    TrainingConfig config = new TrainingConfig("spirals", 30, 6, lr, 0.9, 1e-4, LearningRateSchedule.Kind.COSINE, 3, 0, 0.1, 2, 25, 9, "ejml");
    return new JobInfo(ModelSpec.parse("2-8-3", "tanh", "", 5), config, 1, 25, 10, 300, 60, firstStep);
  }

  private static String step(long s) {
    return "{\"type\":\"step\",\"step\":" + s + ",\"epoch\":1,\"loss\":0.5}";
  }

  private List<String> partial() throws Exception {
    return Files.readAllLines(MetricsLog.partialFile(dir), StandardCharsets.UTF_8);
  }

  @Test
  void aNewJobStartsEmptyWhateverTheDirectoryHolds() throws Exception {
    Files.write(MetricsLog.file(dir), List.of(step(10)));
    Files.write(MetricsLog.partialFile(dir), List.of(step(5)));
    ResumedMetrics.prepare(dir, job(0.1, 0), false);
    assertEquals(List.of(), partial());
    assertEquals(ResumedMetrics.stamp(job(0.1, 0)), Files.readString(ResumedMetrics.stampFile(dir)).strip());
  }

  /** Its own crashed run: the records up to the checkpoint's step, not those logged after it nor a line cut by the kill. */
  @Test
  void aResumedJobContinuesItsOwnPartialUpToItsFirstStep() throws Exception {
    ResumedMetrics.prepare(dir, job(0.1, 0), false);
    String event = "{\"type\":\"event\",\"step\":0,\"kind\":\"joined\",\"message\":\"joined\"}";
    Files.write(MetricsLog.partialFile(dir), List.of(event, step(10), step(20), "{\"type\":\"step\",\"st"));
    Files.write(MetricsLog.file(dir), List.of(step(99)));
    ResumedMetrics.prepare(dir, job(0.1, 15), true);
    assertEquals(List.of(event, step(10)), partial());
  }

  /** A partial file another job left (it failed in the same directory): the resumed job continues metrics.jsonl instead. */
  @Test
  void aPartialOfAnotherJobIsNotContinued() throws Exception {
    ResumedMetrics.prepare(dir, job(1e6, 0), false); // the other job, stamped
    Files.write(MetricsLog.partialFile(dir), List.of());
    Files.write(MetricsLog.file(dir), List.of(step(10), step(20), step(30)));
    ResumedMetrics.prepare(dir, job(0.1, 20), true);
    assertEquals(List.of(step(10), step(20)), partial());
  }
}
