package io.gradflow.metrics;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import java.io.IOException;

/** Serves a {@link JobMetrics} registry at {@code http://BIND:PORT/metrics} until closed. */
public final class MetricsEndpoint implements AutoCloseable {
  private final HTTPServer server;

  private MetricsEndpoint(HTTPServer server) {
    this.server = server;
  }

  /**
   * Starts serving; port 0 picks a free one.
   *
   * @throws IOException when the port cannot be listened on
   */
  public static MetricsEndpoint start(String bind, int port, JobMetrics metrics) throws IOException {
    return new MetricsEndpoint(HTTPServer.builder().hostname(bind).port(port).registry(metrics.registry()).buildAndStart());
  }

  public int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    server.close();
  }
}
