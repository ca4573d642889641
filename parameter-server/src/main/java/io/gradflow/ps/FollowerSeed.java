package io.gradflow.ps;

import io.gradflow.common.model.Network;
import io.gradflow.common.wire.ParameterRange;
import io.gradflow.common.wire.RangeChunks;
import io.gradflow.common.wire.TensorChunks;
import io.gradflow.proto.EarlierWeightsChunk;
import io.gradflow.proto.SeedChunk;
import io.gradflow.proto.SeedHeader;
import io.gradflow.proto.TensorChunk;
import java.util.ArrayList;
import java.util.List;

/**
 * The state a coordinator seeds a follower with (see {@link RangeFollower#seed}), on the wire: the
 * header, then the follower's range of the weights, the momentum and, with staleness, of each
 * earlier version. {@link #chunks} writes it on the coordinator; an instance assembles it on the
 * follower, checking that every chunk lies in the follower's range.
 */
final class FollowerSeed {
  private final ParameterRange range;
  private final Network shape;
  private SeedHeader header;
  private Network weights;
  private float[][] velocity;
  private final List<Network> earlier = new ArrayList<>();
  private long lastEarlier = -1;

  /** Assembles a seed for the follower that owns {@code range} of a model shaped as {@code shape}. */
  FollowerSeed(Network shape, ParameterRange range) {
    this.shape = shape;
    this.range = range;
  }

  /** The chunks of the seed of {@code range}: the header, then weights, momentum, earlier versions (oldest first). */
  static List<SeedChunk> chunks(SeedHeader header, ParameterRange range, Network weights, float[][] velocity, List<Network> earlier) {
    List<SeedChunk> out = new ArrayList<>();
    out.add(SeedChunk.newBuilder().setHeader(header).build());
    for (TensorChunk c : RangeChunks.floats(range, WeightSnapshots.tensorsOf(weights))) {
      out.add(SeedChunk.newBuilder().setWeights(c).build());
    }
    for (TensorChunk c : RangeChunks.floats(range, velocity)) {
      out.add(SeedChunk.newBuilder().setVelocity(c).build());
    }
    long first = header.getStep() - earlier.size();
    for (int i = 0; i < earlier.size(); i++) {
      for (TensorChunk c : RangeChunks.floats(range, WeightSnapshots.tensorsOf(earlier.get(i)))) {
        out.add(SeedChunk.newBuilder().setEarlier(EarlierWeightsChunk.newBuilder().setVersion(first + i).setChunk(c)).build());
      }
    }
    return out;
  }

  /** Takes one chunk; the header comes first. */
  void add(SeedChunk c) {
    if (header == null) {
      if (!c.hasHeader()) {
        throw JobRefusal.badRequest("a seed starts with its header");
      }
      header = c.getHeader();
      weights = new Network(shape.spec());
      velocity = new float[shape.tensorCount()][];
      for (int t = 0; t < velocity.length; t++) {
        velocity[t] = new float[shape.tensor(t).length];
      }
      return;
    }
    switch (c.getPartCase()) {
      case WEIGHTS -> write(c.getWeights(), weights.tensor(checkedTensor(c.getWeights())));
      case VELOCITY -> write(c.getVelocity(), velocity[checkedTensor(c.getVelocity())]);
      case EARLIER -> {
        long v = c.getEarlier().getVersion();
        if (v != lastEarlier) { // versions come oldest first, each whole
          if (v <= lastEarlier || v >= header.getStep()) {
            throw JobRefusal.badRequest("a seed of " + header.getStep() + " steps sent earlier version " + v + " after " + lastEarlier);
          }
          earlier.add(new Network(shape.spec()));
          lastEarlier = v;
        }
        TensorChunk e = c.getEarlier().getChunk();
        write(e, earlier.get(earlier.size() - 1).tensor(checkedTensor(e)));
      }
      default -> throw JobRefusal.badRequest("a seed has one header, got a second or an empty part");
    }
  }


  private int checkedTensor(TensorChunk c) {
    int t = c.getTensor();
    if (t < 0 || t >= shape.tensorCount() || c.getOffset() < range.from()[t] || c.getOffset() + c.getData().size() / 4 > range.end()[t]) {
      throw JobRefusal.badRequest("a seed chunk of tensor " + t + " at element " + c.getOffset() + " lies outside " + range);
    }
    return t;
  }

  private static void write(TensorChunk c, float[] dest) {
    TensorChunks.readFloats(c, dest);
  }

  /** Seeds {@code follower} with what arrived; returns what {@link RangeFollower#seed} returns. */
  long seed(RangeFollower follower) {
    if (header == null) {
      throw JobRefusal.badRequest("empty seed");
    }
    return follower.seed(header.getGeneration(), header.getFingerprint(), header.getStep(), header.getOptimizerStarted(), weights,
        velocity, earlier);
  }
}
