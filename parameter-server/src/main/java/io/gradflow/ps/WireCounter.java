package io.gradflow.ps;

import io.grpc.Metadata;
import io.grpc.ServerStreamTracer;
import java.util.concurrent.atomic.AtomicLong;

/** Counts the bytes the server's calls receive and send on the wire (gRPC's framed message sizes). */
public final class WireCounter extends ServerStreamTracer.Factory {
  private final AtomicLong inbound = new AtomicLong();
  private final AtomicLong outbound = new AtomicLong();

  @Override
  public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
    return new ServerStreamTracer() {
      @Override
      public void inboundWireSize(long bytes) {
        inbound.addAndGet(bytes);
      }

      @Override
      public void outboundWireSize(long bytes) {
        outbound.addAndGet(bytes);
      }
    };
  }

  /** Bytes received from workers (pushes, pulls' requests, heartbeats). */
  public long inboundBytes() {
    return inbound.get();
  }

  /** Bytes sent to workers (weights, answers). */
  public long outboundBytes() {
    return outbound.get();
  }
}
