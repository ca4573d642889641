package io.gradflow.ps;

import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.wire.PushCodec;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.TensorChunk;

/**
 * One push to a {@link RangeFollower}: its chunks, which must cover exactly the follower's range,
 * are checked and staged in buffers of its own (outside the follower's lock), and added to the
 * step's sum by {@link RangeFollower#commitPush} only when complete and new. As {@link PushSession}
 * without membership: the follower does not know who computes what.
 */
public final class FollowerPush {
  private final PushHeader header;
  private final PushSession.Tensors tensors;
  private final long[][] staging;
  private final long[] received;
  private final PushCodec.Decoder decoder;
  private long nanos;

  FollowerPush(PushHeader header, PushSession.Tensors tensors, long[][] staging) {
    this.header = header;
    this.tensors = tensors;
    this.staging = staging;
    this.received = new long[staging.length];
    for (int t = 0; t < received.length; t++) {
      received[t] = tensors.range().from()[t];
    }
    this.decoder = PushCodec.decoder(header.getEncoding(), header.getShardEnd() - header.getShardFirst(),
        tensors.lengths(), tensors.names());
  }

  PushHeader header() {
    return header;
  }

  long[][] staging() {
    return staging;
  }

  /** Validates one chunk and stages it (outside the follower's lock: the staging is this push's). */
  public void addChunk(TensorChunk c) {
    long start = System.nanoTime();
    try {
      stage(c);
    } finally {
      nanos += System.nanoTime() - start;
    }
  }

  /** Time spent staging this push's chunks so far. */
  long stagingNanos() {
    return nanos;
  }

  private void stage(TensorChunk c) {
    int n;
    try {
      n = decoder.decode(c, staging);
    } catch (IllegalArgumentException e) {
      throw JobRefusal.badRequest(e.getMessage() + " (from worker " + header.getWorkerId() + ")");
    }
    int t = c.getTensor();
    if (c.getOffset() != received[t]) {
      throw JobRefusal.badRequest(tensors.names()[t] + " chunk at element " + c.getOffset() + ": expected element " + received[t]
          + " (chunks of a tensor come in order, from the start of this server's range)");
    }
    PushSession.checkWithinRange(tensors.names()[t], c.getOffset(), n, tensors.range().from()[t], tensors.range().end()[t]);
    received[t] += n;
  }

  /** Refuses a push that ended before every element of the range arrived. */
  void checkComplete() {
    PushSession.checkComplete(received, tensors.range().from(), tensors.range().end(), tensors.names());
  }

  /** Adds the staged range to {@code sum}. */
  void addTo(ExactGradientSum sum) {
    for (int t = 0; t < staging.length; t++) {
      PushSession.addStaged(sum.tensor(t), staging[t], tensors.range().from()[t], tensors.range().end()[t]);
    }
  }
}
