package io.gradflow.ps;

import io.gradflow.common.model.Network;
import io.gradflow.common.wire.TensorChunks;
import io.gradflow.common.wire.TlsFailure;
import io.gradflow.proto.RangeFollowerGrpc;
import io.gradflow.proto.RangeStateChunk;
import io.gradflow.proto.RangeStateHeader;
import io.gradflow.proto.RangeStateRequest;
import io.gradflow.proto.TensorChunk;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.gradflow.common.wire.ParameterRange;
import io.gradflow.proto.FollowerStatusRequest;
import io.gradflow.proto.SeedChunk;
import io.gradflow.proto.SeedHeader;
import io.gradflow.proto.SeedResponse;
import io.grpc.stub.StreamObserver;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The coordinator's {@link FollowerStates} over gRPC: seeds each follower with the RangeFollower
 * service's Seed and reads its range with RangeState, one follower after the other, retrying for up
 * to {@code patience} while a follower is unreachable (or not seeded yet); asks their generations
 * with Status.
 */
public final class FollowerClients implements FollowerStates {
  private final List<Channel> channels;
  private final long patienceMillis;
  private final RangeStateHeader[] lastHeaders;

  /** @param channels follower 1..S-1, in server order */
  public FollowerClients(List<Channel> channels, long patienceMillis) {
    this.channels = List.copyOf(channels);
    this.patienceMillis = patienceMillis;
    this.lastHeaders = new RangeStateHeader[channels.size()];
  }

  /** What each follower said of its work at the last read (server 1 first; null before any read). */
  public synchronized List<RangeStateHeader> lastStates() {
    return java.util.Arrays.asList(lastHeaders.clone());
  }

  private synchronized void said(int server, RangeStateHeader h) {
    lastHeaders[server - 1] = h;
  }

  @Override
  public void fill(long version, Network weights, float[][] velocity, List<Network> earlier, boolean last) {
    for (int i = 0; i < channels.size(); i++) {
      read(i + 1, channels.get(i), version, weights, velocity, earlier, last);
    }
  }

  private void read(int server, Channel channel, long version, Network weights, float[][] velocity, List<Network> earlier,
      boolean last) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(patienceMillis);
    long backoff = 100;
    while (true) {
      try {
        Iterator<RangeStateChunk> chunks = RangeFollowerGrpc.newBlockingStub(channel)
            .withDeadlineAfter(patienceMillis, TimeUnit.MILLISECONDS)
            .rangeState(RangeStateRequest.newBuilder().setVersion(version).setLast(last).build());
        while (chunks.hasNext()) {
          RangeStateChunk c = chunks.next();
          switch (c.getPartCase()) {
            case HEADER -> said(server, c.getHeader());
            case WEIGHTS -> write(c.getWeights(), weights.tensor(c.getWeights().getTensor()));
            case VELOCITY -> {
              if (velocity != null) {
                write(c.getVelocity(), velocity[c.getVelocity().getTensor()]);
              }
            }
            case EARLIER -> {
              if (earlier != null && !earlier.isEmpty()) {
                int at = (int) (c.getEarlier().getVersion() - (version - earlier.size()));
                if (at >= 0 && at < earlier.size()) {
                  TensorChunk e = c.getEarlier().getChunk();
                  write(e, earlier.get(at).tensor(e.getTensor()));
                }
              }
            }
            default -> { }
          }
        }
        return;
      } catch (StatusRuntimeException e) {
        if (!worthRetrying(e) || System.nanoTime() >= deadline) {
          throw new IllegalStateException("cannot read the range of server " + server + " after " + version + " steps: "
              + described(e), e);
        }
        try {
          Thread.sleep(backoff);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while reading server " + server);
        }
        backoff = Math.min(2_000, backoff * 2);
      }
    }
  }

  @Override
  public void seed(SeedHeader header, List<ParameterRange> ranges, Network weights, float[][] velocity, List<Network> earlier) {
    for (int i = 0; i < channels.size(); i++) {
      List<SeedChunk> chunks = FollowerSeed.chunks(header, ranges.get(i + 1), weights, velocity, earlier);
      int server = i + 1;
      Channel channel = channels.get(i);
      retrying(server, "seed", () -> {
        CompletableFuture<SeedResponse> done = new CompletableFuture<>();
        StreamObserver<SeedChunk> out = RangeFollowerGrpc.newStub(channel).withDeadlineAfter(patienceMillis, TimeUnit.MILLISECONDS)
            .seed(observer(done));
        for (SeedChunk c : chunks) {
          out.onNext(c);
        }
        out.onCompleted();
        try {
          done.get();
        } catch (ExecutionException e) {
          if (e.getCause() instanceof StatusRuntimeException sre) {
            throw sre;
          }
          throw new IllegalStateException("seeding server " + server + " failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while seeding server " + server);
        }
      });
    }
  }

  /**
   * The coordinator generation each follower was seeded by, server 1 first (0: none since it
   * started), or -1 for a follower that did not answer within {@code timeoutMillis}.
   */
  public long[] generations(long timeoutMillis) {
    long[] out = new long[channels.size()];
    for (int i = 0; i < out.length; i++) {
      try {
        out[i] = RangeFollowerGrpc.newBlockingStub(channels.get(i)).withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS)
            .status(FollowerStatusRequest.getDefaultInstance()).getGeneration();
      } catch (StatusRuntimeException e) {
        out[i] = -1;
      }
    }
    return out;
  }

  private static StreamObserver<SeedResponse> observer(CompletableFuture<SeedResponse> done) {
    return io.gradflow.common.wire.SingleAnswer.into(done, SeedResponse.getDefaultInstance());
  }

  /** Runs {@code call} against {@code server}, again with backoff while it is unreachable, for up to the patience. */
  private void retrying(int server, String what, Runnable call) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(patienceMillis);
    long backoff = 100;
    while (true) {
      try {
        call.run();
        return;
      } catch (StatusRuntimeException e) {
        if (!worthRetrying(e) || System.nanoTime() >= deadline) {
          throw new IllegalStateException("cannot " + what + " server " + server + ": " + described(e), e);
        }
        try {
          Thread.sleep(backoff);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while trying to " + what + " server " + server);
        }
        backoff = Math.min(2_000, backoff * 2);
      }
    }
  }

  /**
   * Whether a failed call may pass when tried again: the follower unreachable (still starting,
   * restarting) or slow. A refusal, or a TLS handshake that failed (a certificate the other side
   * does not trust), fails the same way every time.
   */
  static boolean worthRetrying(StatusRuntimeException e) {
    Status.Code code = e.getStatus().getCode();
    return (code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED) && TlsFailure.reason(e) == null;
  }

  /** The failure in one line: its code and description, and why a TLS handshake failed. */
  static String described(StatusRuntimeException e) {
    String tls = TlsFailure.reason(e);
    String description = e.getStatus().getDescription();
    return e.getStatus().getCode() + (description == null ? "" : ": " + TlsFailure.firstLine(description))
        + (tls == null ? "" : "; TLS handshake failed: " + tls);
  }

  private static void write(TensorChunk c, float[] dest) {
    if (c.getOffset() < 0 || c.getOffset() + c.getData().size() / 4 > dest.length) {
      throw new IllegalStateException("a follower sent a chunk that does not fit tensor " + c.getTensor());
    }
    TensorChunks.readFloats(c, dest);
  }
}
