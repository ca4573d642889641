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

  /** gRPC prints a Status's cause whole, frames included, inside the message: the frames go. */
  @Test
  void stackFramesInsideTheMessageAreDropped() {
    LogRecord r = new LogRecord(Level.WARNING, "[Channel<1>: (nosuch.invalid:7070)] Failed to resolve name. status=Status{code=UNAVAILABLE,"
        + " cause=java.net.UnknownHostException: nosuch.invalid\n\tat java.base/java.net.InetAddress$CachedAddresses.get(InetAddress.java:801)"
        + "\n\tat io.grpc.internal.DnsNameResolver.resolveAddresses(DnsNameResolver.java:223)\n\t... 3 more\n}");
    r.setLoggerName("io.grpc.internal.ManagedChannelImpl");
    assertEquals("gradflow: grpc WARNING ManagedChannelImpl: [Channel<1>: (nosuch.invalid:7070)] Failed to resolve name. "
        + "status=Status{code=UNAVAILABLE, cause=java.net.UnknownHostException: nosuch.invalid }", GrpcLogging.line(r));
  }
}
