package io.gradflow.common.data;

import io.gradflow.common.util.SplitMix64;

/**
 * The global sampling plan, independent of how many workers train: epoch {@code e} visits the
 * training rows in a permutation drawn from {@code (seed, e)}; global step {@code s} takes the
 * next {@code B} indices of its epoch's permutation (the last partial batch of an epoch is
 * dropped, so every step has exactly {@code B} rows). The batch is cut into {@code M} fixed
 * micro-shards: micro-shard {@code m} is rows {@code [floor(m B / M), floor((m+1) B / M))} of it.
 * A worker owns a contiguous range of micro-shards.
 */
public final class SamplingPlan {
  private final int datasetSize;
  private final int batch;
  private final int microShards;
  private final long seed;
  private int cachedEpoch = -1;
  private int[] cachedPermutation;

  public SamplingPlan(int datasetSize, int batch, int microShards, long seed) {
    if (batch <= 0 || batch > datasetSize) {
      throw new IllegalArgumentException(
          "batch " + batch + ": expected 1.." + datasetSize + " (the training set size)");
    }
    if (microShards <= 0 || microShards > batch) {
      throw new IllegalArgumentException(
          "micro-shards " + microShards + ": expected 1.." + batch + " (at most the batch size)");
    }
    this.datasetSize = datasetSize;
    this.batch = batch;
    this.microShards = microShards;
    this.seed = seed;
  }

  public int batch() {
    return batch;
  }

  public int microShards() {
    return microShards;
  }

  /** Full batches per epoch: {@code floor(N / B)}. */
  public int stepsPerEpoch() {
    return datasetSize / batch;
  }

  public int epochOf(long step) {
    return (int) (step / stepsPerEpoch());
  }

  /** The permutation of epoch {@code e} (cached: one epoch at a time is live). */
  public int[] permutation(int epoch) {
    if (epoch != cachedEpoch) {
      cachedPermutation = SplitMix64.forStream(seed, epoch).permutation(datasetSize);
      cachedEpoch = epoch;
    }
    return cachedPermutation;
  }

  /** Offset of step {@code s}'s batch inside its epoch's permutation. */
  public int batchOffset(long step) {
    return (int) (step % stepsPerEpoch()) * batch;
  }

  /** First row of micro-shard {@code m} inside the batch: {@code floor(m B / M)}. */
  public int shardStart(int m) {
    return (int) ((long) m * batch / microShards);
  }

  /** Rows in micro-shard {@code m}. */
  public int shardRows(int m) {
    return shardStart(m + 1) - shardStart(m);
  }

  /** Largest micro-shard, for sizing buffers. */
  public int maxShardRows() {
    return (batch + microShards - 1) / microShards;
  }

  /**
   * First micro-shard owned by worker {@code w} of {@code n}: {@code floor(w M / n)}; worker
   * {@code w} owns {@code [firstShard(w, n), firstShard(w + 1, n))}.
   */
  public int firstShard(int worker, int workers) {
    return (int) ((long) worker * microShards / workers);
  }

  /**
   * Copies micro-shards {@code [first, end)} of step {@code s}, which are consecutive rows of the
   * batch, into {@code x}, {@code y} from row 0; shard {@code m} starts at row {@code
   * shardStart(m) - shardStart(first)}.
   */
  public void gatherShards(Dataset data, long step, int first, int end, float[] x, int[] y) {
    int[] perm = permutation(epochOf(step));
    data.gather(perm, batchOffset(step) + shardStart(first), shardStart(end) - shardStart(first), x, y);
  }

  /** Copies micro-shard {@code m} of step {@code s} into {@code x}, {@code y} from row 0. */
  public void gatherShard(Dataset data, long step, int m, float[] x, int[] y) {
    int[] perm = permutation(epochOf(step));
    data.gather(perm, batchOffset(step) + shardStart(m), shardRows(m), x, y);
  }
}
