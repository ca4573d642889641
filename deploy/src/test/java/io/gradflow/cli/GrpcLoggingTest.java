package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

class GrpcLoggingTest {
  /** A gRPC record, its message and cause over several lines, becomes one line naming the logger's class. */
  @Test
  void aRecordWithACauseIsOneLine() {
    LogRecord r = new LogRecord(Level.WARNING, "Transport failed\n  for {0}");
    r.setLoggerName("io.grpc.netty.shaded.io.grpc.netty.NettyServerTransport");
    r.setParameters(new Object[] {"/127.0.0.1:4242"});
    r.setThrown(new IllegalStateException("preface missing\nhex dump 1603"));
    assertEquals("gradflow: grpc WARNING NettyServerTransport: Transport failed for /127.0.0.1:4242: "
        + "java.lang.IllegalStateException: preface missing hex dump 1603", GrpcLogging.line(r));
  }
}
