package io.gradflow.common.reduce;

import io.gradflow.common.model.Network;
import java.util.Arrays;

/**
 * An exact, order-independent sum of gradients in the {@link FixedPoint} format: each float
 * gradient element is rounded once to {@code q = round(g * 2^40)} and the integers are added in 64
 * bits, which is associative and commutative: the sum of the micro-shard gradients of a step is the
 * same bits whichever worker computed which micro-shard and in whatever order they arrived. The
 * result is converted back once: {@code g = (float) (sum * 2^-40)}. Up to {@link
 * FixedPoint#MAX_TERMS} micro-shards, each element below {@link FixedPoint#LIMIT}.
 *
 * <p>This class stays scalar and free of the Vector API, so that the parameter server runs without
 * it (the step's conversion back to float is fused into the optimizer's update, {@code
 * SgdOptimizer.step(Network, ExactGradientSum, ...)}, vectorised when the JVM has the module and
 * scalar otherwise, with the bits of {@link #drainTo}); the trainer's hot path rounds inside the kernel instead ({@code
 * DenseKernels.addSegmentGradientsFixed}), lane by lane with the same operations and the same
 * bits. Non-finite or out-of-range elements are refused with the tensor and index named.
 *
 * <p>A sum whose values were used up can be {@link #spend spent} instead of cleared: it counts as
 * zero, and its arrays are cleared only when something reads or adds to them before an {@link
 * #exchange} replaces them or a kernel that writes every element {@link #claim claims} them (the
 * parameter server's sums, whose next values come whole by exchange, and the trainer's and the
 * workers' sums, which the backward kernel stores into, are then never cleared).
 */
public final class ExactGradientSum {
  private final long[][] sums;
  /** Tensors whose array holds used-up values: they count as zero (cleared on the next access). */
  private final boolean[] spent;

  /**
   * Accumulators shaped like {@code shape}'s tensors, zero and {@link #spend spent}, as a sum is
   * after its values were used: the first backward that computes into it stores its values (the
   * kernel's {@code overwrite}) like every later one, instead of taking a branch of the compiled
   * kernel that only a new sum would take (the JIT would throw that code away at a job's first
   * step and compile it again).
   */
  public ExactGradientSum(Network shape) {
    sums = new long[shape.tensorCount()][];
    for (int t = 0; t < sums.length; t++) {
      sums[t] = new long[shape.tensor(t).length];
    }
    spent = new boolean[sums.length];
    spend();
  }

  public int tensorCount() {
    return sums.length;
  }

  /** The live fixed-point accumulator of tensor {@code t} (zeros if it was spent). */
  public long[] tensor(int t) {
    if (spent[t]) {
      Arrays.fill(sums[t], 0L);
      spent[t] = false;
    }
    return sums[t];
  }

  /** Whether tensor {@code t} counts as zero without its array having been cleared ({@link #spend}). */
  public boolean isSpent(int t) {
    return spent[t];
  }

  /**
   * Tensor {@code t}'s array for a caller that writes every element before anything reads it
   * (the kernels' {@code overwrite}): a spent tensor is handed out without the pass that clears it.
   */
  public long[] claim(int t) {
    spent[t] = false;
    return sums[t];
  }

  /**
   * Puts {@code values} in place of tensor {@code t}'s accumulator and returns the array it
   * replaces, whose content is undefined (the caller overwrites it): a sum known to be zero, or
   * spent, takes a whole tensor of fixed-point values without a pass over them.
   */
  public long[] exchange(int t, long[] values) {
    if (values.length != sums[t].length) {
      throw new IllegalArgumentException(
          "exchange of tensor " + t + ": " + values.length + " values, expected " + sums[t].length);
    }
    long[] old = sums[t];
    sums[t] = values;
    spent[t] = false;
    return old;
  }

  public void clear() {
    for (int t = 0; t < sums.length; t++) {
      Arrays.fill(sums[t], 0L);
      spent[t] = false;
    }
  }

  /**
   * The sum counts as zero from now on, without a pass: its values were read and are not needed
   * again. Each tensor is cleared when it is next read or added to, unless {@link #exchange}
   * replaces it first.
   */
  public void spend() {
    Arrays.fill(spent, true);
  }

  /**
   * One element in fixed point, {@code round(v * 2^40)}: the single rounding every process
   * applies.
   *
   * @throws NonFiniteGradientException for NaN, infinite or too large values
   */
  public static long toFixed(int tensor, int index, float v) {
    if (!FixedPoint.inRange(v)) {
      throw new NonFiniteGradientException(Network.tensorName(tensor), index, v);
    }
    return FixedPoint.roundToFixed(v);
  }

  /**
   * Adds {@code values[from, from+count)}, rounded to fixed point, to the same elements of tensor
   * {@code t}.
   *
   * @throws NonFiniteGradientException for NaN, infinite or too large elements
   */
  public void addFloats(int t, float[] values, int from, int count) {
    long[] s = tensor(t);
    int end = from + count;
    // Check first (a max that NaN poisons), so the adding loop has no branch and nothing is added
    // when an element is refused.
    float largest = 0f;
    for (int i = from; i < end; i++) {
      largest = Math.max(largest, Math.abs(values[i]));
    }
    if (!FixedPoint.inRange(largest)) {
      for (int i = from; i < end; i++) {
        toFixed(t, i, values[i]); // throws, naming the first offending element
      }
    }
    for (int i = from; i < end; i++) {
      s[i] += FixedPoint.roundToFixed(values[i]);
    }
  }

  /** Adds fixed-point values {@code q[0, count)} to tensor {@code t} at element {@code offset}. */
  public void addFixed(int t, int offset, long[] q, int count) {
    long[] s = tensor(t);
    for (int i = 0; i < count; i++) {
      s[offset + i] += q[i];
    }
  }

  /** Adds another accumulator's sums (exact). */
  public void addAll(ExactGradientSum other) {
    for (int t = 0; t < sums.length; t++) {
      addFixed(t, 0, other.tensor(t), sums[t].length);
    }
  }

  /**
   * Writes {@code (float)(sum * 2^-40)} for every element of tensor {@code t} into {@code out} and
   * clears those sums, in one pass over them.
   */
  public void drainTo(int t, float[] out) {
    long[] s = tensor(t);
    for (int i = 0; i < s.length; i++) {
      out[i] = FixedPoint.toFloat(s[i]);
      s[i] = 0L;
    }
  }

  /** A gradient element that cannot be summed: NaN, infinite, or beyond {@link FixedPoint#LIMIT}. */
  public static final class NonFiniteGradientException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public NonFiniteGradientException(String tensor, int index, float value) {
      super(
          "gradient "
              + tensor
              + "["
              + index
              + "] = "
              + value
              + ": expected a finite value below "
              + (long) FixedPoint.LIMIT
              + " in magnitude");
    }
  }
}
