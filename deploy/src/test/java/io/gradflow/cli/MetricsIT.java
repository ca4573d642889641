package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train --workers 2 --metrics-port P}: while the real job runs (a server and two worker
 * JVMs), {@code /metrics} answers in the Prometheus text format, parsed strictly; the step counter
 * goes up between two scrapes and the live-worker gauge says 2; the launcher shows the address the
 * server said it serves on.
 */
class MetricsIT {
  /** Steps of up to 30 ms (the jitter): seconds of a running job to scrape twice. */
  private static final int STEPS = 200;
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @TempDir Path tmp;

  @Test
  void aRunningTwoWorkerJobServesItsMetrics() throws Exception {
    int port = freePort();
    List<String> args = new ArrayList<>(List.of("train", "--workers", "2", "--out", tmp.resolve("run").toString(),
        "--metrics-port", Integer.toString(port), "--push-jitter-ms", "30", "--warmup-passes", "0"));
    args.addAll(Jobs.spiralsJob(STEPS));
    CompletableFuture<Jobs.Run> job = CompletableFuture.supplyAsync(() -> Jobs.run(args));

    PrometheusText first = scrapeUntil(port, job, m -> m.value("gradflow_workers_live") == 2 && m.value("gradflow_step") >= 1);
    // The step gauge and the steps counter are set one after the other by each step, and a scrape
    // may fall between the two: the step goes on when both have moved past the first scrape's.
    PrometheusText second = scrapeUntil(port, job,
        m -> m.value("gradflow_steps_total") > first.value("gradflow_steps_total")
            && m.value("gradflow_step") > first.value("gradflow_step"));
    assertEquals(2, second.value("gradflow_workers_live"), "both workers live");
    assertEquals(2, second.value("gradflow_workers_joined_total"));
    assertEquals(0, second.value("gradflow_workers_lost_total"));
    assertEquals(STEPS, second.value("gradflow_total_steps"));
    assertTrue(second.value("gradflow_wire_bytes_total{direction=\"in\"}") > 0, "bytes in");
    assertTrue(second.value("gradflow_wire_bytes_total{direction=\"out\"}") > 0, "bytes out");
    double observed = second.value("gradflow_step_seconds_count");
    assertTrue(observed >= 1 && observed == second.value("gradflow_step_seconds_bucket{le=\"+Inf\"}"), "step-time histogram");
    assertTrue(second.value("gradflow_loss") > 0, "loss");
    assertEquals("counter", second.type("gradflow_steps_total"));
    assertEquals("gauge", second.type("gradflow_workers_live"));
    assertEquals("histogram", second.type("gradflow_step_seconds"));

    Jobs.Run done = job.get(180, TimeUnit.SECONDS);
    assertEquals(0, done.exitCode(), done.err() + done.out());
    assertTrue(done.out().contains("metrics on http://127.0.0.1:" + port + "/metrics"),
        "the launcher shows where the server serves its metrics: " + done.out());
  }

  /** The last exposition read, shown when a check fails. */
  private static String lastBody = "";

  /** Scrapes {@code /metrics} until {@code ready} holds (the job must still run), parsing every answer strictly. */

  private static PrometheusText scrapeUntil(int port, CompletableFuture<Jobs.Run> job,
      java.util.function.Predicate<PrometheusText> ready) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline) {
      if (job.isDone()) {
        Jobs.Run r = job.get();
        throw new AssertionError("the job ended before the scrape saw what it waited for: exit " + r.exitCode() + "\n" + r.err() + r.out());
      }
      HttpResponse<String> response;
      try {
        response = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
            .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
      } catch (java.net.ConnectException e) {
        Thread.sleep(100); // the server is not serving yet
        continue;
      }
      assertEquals(200, response.statusCode());
      assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"),
          response.headers().toString());
      PrometheusText m = PrometheusText.parse(response.body());
      lastBody = response.body();
      if (ready.test(m)) {
        return m;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("/metrics did not show what was awaited within 120 s; last:\n" + lastBody);
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
