package io.gradflow.ps;

import io.gradflow.common.model.Network;
import io.gradflow.common.optim.SgdOptimizer;
import io.gradflow.common.wire.ParameterRange;
import io.gradflow.proto.JoinResponse;
import io.gradflow.proto.SeedHeader;
import java.util.List;

/**
 * The coordinator's side of a job with sharded servers: how many servers the job has, their
 * parameter ranges (the coordinator owns range 0), the followers that hold the others, and the
 * coordinator's generation; it seeds the followers and reads their ranges into copies of the state.
 * With one server it holds nothing and does nothing. Guarded by the coordinator's lock (it does not
 * lock itself); it is set up once, before the first join ({@link #shard}), and what then runs
 * without the lock ({@link #seed} and {@link #fill}, on the calling or the background thread) reads
 * only what that set.
 */
final class ShardedServers {
  /** The followers' ranges (sharded servers), or null. */
  private FollowerStates followers;
  /** Every server's range, this coordinator's first; empty with one server. */
  private List<ParameterRange> ranges = List.of();
  /** Sharded servers: this coordinator's generation, random and non-zero (see {@link #seed}); 0 with one server. */
  private long generation;

  /** The state the followers are seeded with, copied under the coordinator's lock and sent without it. */
  record Seed(SeedHeader header, Network weights, float[][] velocity, List<Network> earlier) {}

  /**
   * Makes the job one of {@code ranges.size()} sharded servers read through {@code followers}, with
   * a fresh generation; returns false, and changes nothing, for a single range.
   */
  boolean shard(List<ParameterRange> ranges, FollowerStates followers) {
    if (ranges.size() <= 1) {
      return false;
    }
    this.followers = followers;
    this.ranges = List.copyOf(ranges);
    while (generation == 0) {
      generation = new java.security.SecureRandom().nextLong();
    }
    return true;
  }

  /** True with sharded servers: the coordinator's pushes, pulls and update cover its range only. */
  boolean sharded() {
    return !ranges.isEmpty();
  }

  /** The coordinator's range (sharded servers only). */
  ParameterRange own() {
    return ranges.get(0);
  }

  /** True when followers hold the other ranges (sharded servers). */
  boolean hasFollowers() {
    return followers != null;
  }

  /** The generation this coordinator seeds its followers with (0 with one server). */
  long generation() {
    return generation;
  }

  /** A worker's admission, telling it, with sharded servers, how many servers there are and the generation. */
  JoinResponse tellWorker(JoinResponse admitted) {
    if (sharded()) {
      return admitted.toBuilder().setServers(ranges.size()).setServerGeneration(generation).build();
    }
    return admitted;
  }

  /**
   * The seed of the state after {@code step} applied steps, with this generation: copies of the
   * weights and the momentum, and {@code earlier} (copies of the earlier weight versions). Call under
   * the coordinator's lock, with followers ({@link #hasFollowers}).
   */
  Seed seedOf(long step, SgdOptimizer optimizer, String fingerprint, Network net, List<Network> earlier) {
    SeedHeader header = SeedHeader.newBuilder().setGeneration(generation).setStep(step)
        .setOptimizerStarted(optimizer.started()).setFingerprint(fingerprint).build();
    Network weights = net.copy();
    float[][] velocity = new float[net.tensorCount()][];
    for (int t = 0; t < velocity.length; t++) {
      velocity[t] = optimizer.velocity(t).clone();
    }
    return new Seed(header, weights, velocity, earlier);
  }

  /** Sends every follower its range of {@code seed}; blocks until every follower took it (see {@link FollowerStates#seed}). */
  void seed(Seed seed) {
    followers.seed(seed.header(), ranges, seed.weights(), seed.velocity(), seed.earlier());
  }

  /**
   * Sharded servers: writes the followers' ranges of the state after {@code version} applied steps
   * into these copies (on the background thread, without the lock; {@code last}: the final read, see
   * {@link FollowerStates#fill}); nothing otherwise.
   */
  void fill(long version, Network weights, float[][] velocity, List<Network> earlier, boolean last) {
    if (followers != null) {
      followers.fill(version, weights, velocity, earlier, last);
    }
  }
}
