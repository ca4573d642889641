package io.gradflow.common.wire;

import java.util.ArrayList;
import java.util.List;

/**
 * Cuts the flattened parameters of a model into S contiguous ranges, one per server of a job with
 * sharded servers. The cut points are chunk boundaries of the wire: a tensor's element {@code k *
 * CHUNK_ELEMENTS} (a chunk of weights holds {@link TensorChunks#MAX_CHUNK_BYTES} / 4 floats) or a
 * tensor's start, so a range holds whole chunks and may span tensors. Among those boundaries,
 * boundary {@code i} is the one closest to {@code i * P / S} of the P parameters (bytes are 4 per
 * parameter, so this balances bytes), each range keeping at least one chunk. Every process computes
 * the same ranges from the same tensor lengths and S.
 */
public final class ParameterRanges {
  /** Elements in a full chunk of float32 weights: the unit a range is made of. */
  public static final int CHUNK_ELEMENTS = TensorChunks.MAX_CHUNK_BYTES / Float.BYTES;

  private ParameterRanges() {}

  /** How many chunks the model's parameters make: the most servers it can be cut for. */
  public static int chunkCount(int[] tensorLengths) {
    int n = 0;
    for (int length : tensorLengths) {
      n += (length + CHUNK_ELEMENTS - 1) / CHUNK_ELEMENTS;
    }
    return n;
  }

  /**
   * The {@code servers} ranges of a model with tensors of {@code tensorLengths} elements, range
   * {@code i} for server {@code i}.
   *
   * @throws IllegalArgumentException when the model has fewer chunks than servers (the message says
   *     how many chunks it has)
   */
  public static List<ParameterRange> split(int[] tensorLengths, int servers) {
    if (servers < 1) {
      throw new IllegalArgumentException(servers + " servers: expected at least 1");
    }
    // the chunks in flattened order: tensor, first element, element count
    List<int[]> chunks = new ArrayList<>();
    for (int t = 0; t < tensorLengths.length; t++) {
      for (int off = 0; off < tensorLengths[t]; off += CHUNK_ELEMENTS) {
        chunks.add(new int[] {t, off, Math.min(CHUNK_ELEMENTS, tensorLengths[t] - off)});
      }
    }
    if (chunks.size() < servers) {
      throw new IllegalArgumentException("its parameters make " + chunks.size() + " chunk(s) of at most "
          + CHUNK_ELEMENTS + " elements (one per tensor when smaller), fewer than " + servers + " servers: each server needs one");
    }
    long[] before = new long[chunks.size() + 1]; // parameters before chunk c
    for (int c = 0; c < chunks.size(); c++) {
      before[c + 1] = before[c] + chunks.get(c)[2];
    }
    long total = before[chunks.size()];
    int[] cut = new int[servers + 1]; // range i takes chunks [cut[i], cut[i+1])
    cut[servers] = chunks.size();
    for (int i = 1; i < servers; i++) {
      long target = total * i / servers;
      int lo = cut[i - 1] + 1;
      int hi = chunks.size() - (servers - i);
      int best = lo;
      for (int c = lo; c <= hi; c++) {
        if (Math.abs(before[c] - target) < Math.abs(before[best] - target)) {
          best = c;
        }
      }
      cut[i] = best;
    }
    List<ParameterRange> ranges = new ArrayList<>(servers);
    for (int i = 0; i < servers; i++) {
      int[] from = new int[tensorLengths.length];
      int[] end = new int[tensorLengths.length];
      for (int c = cut[i]; c < cut[i + 1]; c++) {
        int[] chunk = chunks.get(c);
        int t = chunk[0];
        if (end[t] == from[t]) {
          from[t] = chunk[1];
        }
        end[t] = chunk[1] + chunk[2];
      }
      ranges.add(new ParameterRange(i, from, end));
    }
    return List.copyOf(ranges);
  }
}
