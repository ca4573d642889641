package io.gradflow.cli;

import io.gradflow.metrics.JobMetrics;
import io.gradflow.metrics.MetricsEndpoint;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import picocli.CommandLine.Option;

/** {@code --metrics-port}: serve the job's Prometheus metrics at {@code /metrics}. */
final class MetricsOption {
  @Option(names = "--metrics-port", paramLabel = "P", description = "Serve the job's metrics in the Prometheus text format at http://HOST:P/metrics (step, epoch, samples/s, loss, test accuracy, workers, refused pushes, bytes, step time, checkpoint age); 0 picks a free port. Default: none.")
  Integer port;

  boolean selected() {
    return port != null;
  }

  /** {@code --metrics-port}, when given, is a port (a usage error otherwise). */
  void check() {
    if (port != null && (port < 0 || port > 65_535)) {
      throw CommandFailure.usage("--metrics-port " + port + " is not a port: expected 0..65535 (0 picks a free one)");
    }
  }

  /** The metrics of a job whose output directory is {@code dir}; null without the option. */
  JobMetrics metrics(Path dir) {
    if (port == null) {
      return null;
    }
    check();
    return new JobMetrics(dir.resolve("checkpoints"));
  }

  /** Serves {@code metrics} on {@code bind}; says where through {@code say}. Null without the option. */
  MetricsEndpoint serve(String bind, JobMetrics metrics, Consumer<String> say) {
    if (metrics == null) {
      return null;
    }
    try {
      MetricsEndpoint endpoint = MetricsEndpoint.start(bind, port, metrics);
      say.accept("metrics on http://" + bind + ":" + endpoint.port() + "/metrics");
      return endpoint;
    } catch (IOException e) {
      throw new CommandFailure(ExitCode.UNAVAILABLE, "cannot serve --metrics-port " + port + " on " + bind + ": " + e.getMessage());
    }
  }

  /** The option for a server that a launcher starts. */
  List<String> toArgs() {
    return port == null ? List.of() : List.of("--metrics-port", Integer.toString(port));
  }
}
