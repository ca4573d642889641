package io.gradflow.common.train;

import io.gradflow.common.model.Network;
import java.util.ArrayList;
import java.util.List;

/**
 * The weights a job with staleness K still computes on: versions {@code max(0, v - K) .. v}, where
 * version {@code v} is the weights after {@code v} applied steps. Step {@code t} computes its
 * gradient on version {@code max(0, t - K)} ({@link TrainingConfig#weightsVersionOf}) and applies
 * it to the newest weights, the live network.
 *
 * <p>With K = 0 the only version a step computes on is the live network itself: nothing is copied.
 * With K >= 1 every version is a copy of the live weights taken when it was made and not written
 * while it is kept. The arrays of the version dropped at a step take the new one (a step allocates
 * nothing: a fresh 0.94 MB network per step cost the server's update about 0.1 ms at K = 1), so
 * a version must not be held past the step that drops it: {@link #earlier} hands out copies, for a
 * checkpoint written on another thread.
 */
public final class WeightVersions {
  private final Network live;
  private final int staleness;
  /** Versions {@code first .. newest}, oldest first; empty with K = 0. */
  private final List<Network> kept = new ArrayList<>();
  private long first;
  private long newest;

  /**
   * The versions of a job at {@code newest} applied steps whose live weights are {@code live};
   * {@code earlier} are versions {@code max(0, newest - K) .. newest - 1}, oldest first (from a
   * checkpoint; empty for a fresh job or K = 0).
   */
  public WeightVersions(Network live, int staleness, long newest, List<Network> earlier) {
    this.live = live;
    this.staleness = staleness;
    this.newest = newest;
    this.first = newest;
    if (staleness == 0) {
      return;
    }
    long expected = newest - Math.max(0, newest - staleness);
    if (earlier.size() != expected) {
      throw new IllegalArgumentException("staleness " + staleness + " at step " + newest + " needs the weights of "
          + expected + " earlier version(s), got " + earlier.size());
    }
    for (Network n : earlier) {
      kept.add(n.copy());
    }
    kept.add(live.copy());
    this.first = newest - expected;
  }

  /** A fresh job: version 0 is {@code live} as initialised. */
  public static WeightVersions fresh(Network live, int staleness) {
    return new WeightVersions(live, staleness, 0, List.of());
  }

  public int staleness() {
    return staleness;
  }

  /** The newest version: the number of applied steps. */
  public long newest() {
    return newest;
  }

  /** The version step {@code step} computes on: {@code max(0, step - K)}. */
  public long versionFor(long step) {
    return Math.max(0, step - staleness);
  }

  /** The weights of version {@code v} (the live network with K = 0); {@code v} must be kept. */
  public Network version(long v) {
    if (staleness == 0) {
      return live;
    }
    if (v < first || v > newest) {
      throw new IllegalStateException("weights version " + v + " is not kept (versions " + first + ".." + newest + ")");
    }
    return kept.get((int) (v - first));
  }

  /** The weights step {@code step} computes its gradient on. */
  public Network forStep(long step) {
    return version(versionFor(step));
  }

  /**
   * A step was applied to the live network: it becomes the newest version (copied with K >= 1),
   * and versions no later step computes on are dropped.
   */
  public void advance() {
    newest++;
    if (staleness == 0) {
      first = newest;
      return;
    }
    Network dropped = null;
    while (first < versionFor(newest)) {
      dropped = kept.remove(0);
      first++;
    }
    if (dropped == null) {
      kept.add(live.copy());
    } else {
      dropped.copyFrom(live); // no reader holds a dropped version: earlier() hands out copies
      kept.add(dropped);
    }
  }

  /**
   * Copies of versions {@code max(0, newest - K) .. newest - 1}, oldest first (what a checkpoint
   * stores besides the live weights), which later steps do not change.
   */
  public List<Network> earlier() {
    return staleness == 0 ? List.of() : kept.subList(0, kept.size() - 1).stream().map(Network::copy).toList();
  }
}
