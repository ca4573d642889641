package io.gradflow.ps;

import io.gradflow.common.model.Network;
import java.util.List;

/**
 * The coordinator's view of its followers in a job with sharded servers: it reads their ranges of
 * the state after a given number of applied steps (evaluations, checkpoints, the final model). The
 * coordinator's own copies hold only its range correctly; these calls fill in the rest.
 */
public interface FollowerStates {
  /**
   * Writes every follower's range of the state after {@code version} applied steps into {@code
   * weights}, and into {@code velocity} (the momentum, tensor by tensor) and {@code earlier} (the
   * weight versions {@code version - earlier.size() .. version - 1}) when they are not null. Blocks
   * until every follower answered (a follower answers once it has applied that many steps). {@code
   * last}: the coordinator's last read; the followers stop after it.
   *
   * @throws RuntimeException saying which follower could not be read
   */
  void fill(long version, Network weights, float[][] velocity, List<Network> earlier, boolean last);

  /**
   * Seeds every follower with its range ({@code ranges.get(i)} to server i) of the state the
   * coordinator starts from: {@code header} (generation, steps applied, fingerprint), the weights,
   * the momentum and the earlier versions {@code header.step - earlier.size() .. header.step - 1}.
   * Blocks until every follower took it (waiting for one that is still starting).
   *
   * @throws RuntimeException saying which follower could not be seeded
   */
  void seed(io.gradflow.proto.SeedHeader header, List<io.gradflow.common.wire.ParameterRange> ranges, Network weights,
      float[][] velocity, List<Network> earlier);
}
