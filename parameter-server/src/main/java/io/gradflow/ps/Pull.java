package io.gradflow.ps;

import io.gradflow.proto.TensorChunk;
import io.gradflow.proto.WeightsHeader;
import java.util.List;

/**
 * The answer to a pull: what to do next and, when ready, the weights of version {@code
 * weightsVersion} (step {@code step} computes on them: {@code max(0, step - K)} with staleness K)
 * with the micro-shards {@code [first, end)} of step {@code step} to compute on them.
 */
public record Pull(WeightsHeader.State state, long step, int first, int end, List<TensorChunk> weights,
    boolean weightsInSharedMemory, long weightsVersion) {

  /** Nothing to compute yet at {@code step}: ask again. */
  static Pull notYet(long step) {
    return new Pull(WeightsHeader.State.NOT_YET, step, 0, 0, List.of(), false, 0);
  }

  /** The job is over after {@code step} steps. */
  static Pull done(long step) {
    return new Pull(WeightsHeader.State.DONE, step, 0, 0, List.of(), false, 0);
  }

  /** Compute {@code item} of step {@code step} on {@code weights}, the weights of version {@code version}. */
  static Pull ready(long step, long version, WorkItem item, List<TensorChunk> weights) {
    return new Pull(WeightsHeader.State.READY, step, item.first, item.end, weights, false, version);
  }

  /** Compute {@code item} of step {@code step} on the weights the shared weights file holds as version {@code version}. */
  static Pull readyInSharedMemory(long step, long version, WorkItem item) {
    return new Pull(WeightsHeader.State.READY, step, item.first, item.end, List.of(), true, version);
  }
}
