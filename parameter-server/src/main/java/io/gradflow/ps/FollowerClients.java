package io.gradflow.ps;

import io.gradflow.common.model.Network;
import io.gradflow.common.wire.TensorChunks;
import io.gradflow.proto.RangeFollowerGrpc;
import io.gradflow.proto.RangeStateChunk;
import io.gradflow.proto.RangeStateHeader;
import io.gradflow.proto.RangeStateRequest;
import io.gradflow.proto.TensorChunk;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The coordinator's {@link FollowerStates} over gRPC: reads each follower's range with the
 * RangeFollower service's RangeState, one follower after the other, retrying for up to {@code
 * patience} while a follower is unreachable.
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
        Status.Code code = e.getStatus().getCode();
        boolean again = (code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED) && System.nanoTime() < deadline;
        if (!again) {
          throw new IllegalStateException("cannot read the range of server " + server + " after " + version + " steps: "
              + code + (e.getStatus().getDescription() == null ? "" : ": " + e.getStatus().getDescription()), e);
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

  private static void write(TensorChunk c, float[] dest) {
    if (c.getOffset() < 0 || c.getOffset() + c.getData().size() / 4 > dest.length) {
      throw new IllegalStateException("a follower sent a chunk that does not fit tensor " + c.getTensor());
    }
    TensorChunks.readFloats(c, dest);
  }
}
