package io.gradflow.ps;

import io.gradflow.proto.TensorChunk;
import io.gradflow.proto.WeightsHeader;
import java.util.List;

/**
 * The answer to a pull: what to do next and, when ready, the weights of step {@code step} with
 * the micro-shards {@code [first, end)} to compute on them.
 */
public record Pull(WeightsHeader.State state, long step, int first, int end, List<TensorChunk> weights, boolean weightsInSharedMemory) {

  /** Nothing to compute yet at {@code step}: ask again. */
  static Pull notYet(long step) {
    return new Pull(WeightsHeader.State.NOT_YET, step, 0, 0, List.of(), false);
  }

  /** The job is over after {@code step} steps. */
  static Pull done(long step) {
    return new Pull(WeightsHeader.State.DONE, step, 0, 0, List.of(), false);
  }

  /** Compute {@code item} of step {@code step} on {@code weights}. */
  static Pull ready(long step, WorkItem item, List<TensorChunk> weights) {
    return new Pull(WeightsHeader.State.READY, step, item.first, item.end, weights, false);
  }

  /** Compute {@code item} of step {@code step} on the weights the shared weights file holds for it. */
  static Pull readyInSharedMemory(long step, WorkItem item) {
    return new Pull(WeightsHeader.State.READY, step, item.first, item.end, List.of(), true);
  }
}
