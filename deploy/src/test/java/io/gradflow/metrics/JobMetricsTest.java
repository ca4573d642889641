package io.gradflow.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.train.Evaluator;
import io.gradflow.common.train.JobInfo;
import io.gradflow.common.train.TrainingConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The listener's metrics as served: what each call changes, membership from the events. */
class JobMetricsTest {
  @TempDir Path dir;

  private static String scrape(MetricsEndpoint endpoint) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + endpoint.port() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  private static List<String> samples(String text) {
    return text.lines().filter(l -> !l.startsWith("#")).toList();
  }

  @Test
  void stepsEpochsEventsRefusalsAndCheckpointsShowUp() throws Exception {
    JobMetrics m = new JobMetrics(dir);
    try (MetricsEndpoint endpoint = MetricsEndpoint.start("127.0.0.1", 0, m)) {
      assertFalse(scrape(endpoint).contains("gradflow_checkpoint_age_seconds "), "no checkpoint yet");
      m.onEvent("joined: worker 0 (worker-0), 1/2");
      m.onEvent("joined: worker 1 (worker-1), 2/2");
      m.onEvent("refused worker-9: job differs: lr");
      m.onStart(new JobInfo(ModelSpec.parse("2-8-3", "tanh", "", 1),
          new TrainingConfig("spirals", 30, 3, 0.1, 0.9, 0, LearningRateSchedule.Kind.CONSTANT, 0, 0, 0.1, 2, 0, 3, "ejml"),
          2, 20, 10, 300, 100, 0));
      m.onStep(0, 0, 1.25, 0.1f, null);
      m.onStep(1, 0, 1.0, 0.1f, null);
      m.onEpoch(0, 9, new Evaluator.Result(0.75, 0.5, 100, 0.01), 1.1);
      m.onEvent("lost: worker 1 (worker-1) (silent for 5 s); 1 live worker(s)");
      m.pushRefused("invalid_argument");
      m.wire(() -> 1000, () -> 2000);
      Files.createDirectories(dir);
      Files.writeString(dir.resolve("ckpt-10.gfc"), "x");
      List<String> s = samples(scrape(endpoint));
      for (String expected : List.of("gradflow_step 2.0", "gradflow_steps_total 2.0", "gradflow_epoch 1.0", "gradflow_loss 1.0",
          "gradflow_total_steps 20.0", "gradflow_test_accuracy 0.75", "gradflow_test_loss 0.5", "gradflow_train_loss 1.1",
          "gradflow_workers_live 1.0", "gradflow_workers_joined_total 2.0", "gradflow_workers_lost_total 1.0",
          "gradflow_pushes_refused_total{reason=\"invalid_argument\"} 1.0",
          "gradflow_pushes_refused_total{reason=\"failed_precondition\"} 0.0",
          "gradflow_wire_bytes_total{direction=\"in\"} 1000.0", "gradflow_wire_bytes_total{direction=\"out\"} 2000.0",
          "gradflow_step_seconds_count 2")) {
        assertTrue(s.contains(expected), expected + " in\n" + String.join("\n", s));
      }
      String age = s.stream().filter(l -> l.startsWith("gradflow_checkpoint_age_seconds ")).findFirst().orElseThrow();
      double seconds = Double.parseDouble(age.substring(age.indexOf(' ') + 1));
      assertTrue(seconds >= 0 && seconds < 60, age);
      assertEquals(1, s.stream().filter(l -> l.startsWith("gradflow_checkpoint_age_seconds")).count());
    }
  }
}
