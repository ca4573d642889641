package io.gradflow.common.wire;

/**
 * One server's share of the flattened parameters in a job with sharded servers: the elements
 * {@code [from[t], end[t])} of each tensor {@code t} (empty where {@code from[t] == end[t]}). The
 * flattened order is tensor 0's elements, then tensor 1's, and so on, so a range is contiguous in
 * it and may span tensors: it ends some tensor's tail, holds whole tensors, and begins another's
 * head. {@link ParameterRanges} cuts them.
 *
 * @param index the server that owns it (0: the coordinator)
 */
public record ParameterRange(int index, int[] from, int[] end) {

  /** The whole model as one range (one server). */
  public static ParameterRange whole(int[] tensorLengths) {
    return new ParameterRange(0, new int[tensorLengths.length], tensorLengths.clone());
  }

  /** Elements of tensor {@code t} in this range. */
  public int lengthIn(int t) {
    return end[t] - from[t];
  }

  /** Elements in this range, over all tensors. */
  public long elements() {
    long n = 0;
    for (int t = 0; t < from.length; t++) {
      n += lengthIn(t);
    }
    return n;
  }

  /** True when the range holds every element of every tensor of a model with {@code tensorLengths}. */
  public boolean isWhole(int[] tensorLengths) {
    for (int t = 0; t < tensorLengths.length; t++) {
      if (from[t] != 0 || end[t] != tensorLengths[t]) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("range ").append(index).append(" (");
    String sep = "";
    for (int t = 0; t < from.length; t++) {
      if (lengthIn(t) > 0) {
        sb.append(sep).append(io.gradflow.common.model.Network.tensorName(t)).append('[').append(from[t]).append(", ").append(end[t]).append(')');
        sep = ", ";
      }
    }
    return sb.append(')').toString();
  }
}
