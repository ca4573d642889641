package io.gradflow.common.reduce;


import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;

/**
 * An exact, order-independent sum of gradients. Each float gradient element is rounded once to a
 * fixed-point integer {@code q = round(g * 2^40)} and the integers are added in 64 bits, which is
 * associative and commutative: the sum of the micro-shard gradients of a step is the same bits
 * whichever worker computed which micro-shard and in whatever order they arrived. The result is
 * converted back once: {@code g = (float) (sum * 2^-40)}.
 *
 * <p>Resolution {@code 2^-40 ~ 9.1e-13}, far below a float32 weight's ulp for any useful learning
 * rate; range: an element must satisfy {@code |g| < 2^11} per micro-shard (far beyond any sane
 * gradient), so that the sum of up to {@link #MAX_TERMS} micro-shards stays below {@code 2^58}.
 *
 * <p>The rounding is to nearest, ties to even, done as {@code (x + 1.5*2^52) - 1.5*2^52} in
 * double ({@code |x| < 2^51}): plain IEEE operations that any vectorised version must repeat lane
 * by lane. This class stays scalar and free of the Vector API, so that the parameter server runs
 * without it; the trainer's hot path rounds inside the kernel instead ({@code
 * DenseKernels.addSegmentGradientsFixed}), lane by lane with the same operations and the same
 * bits. Non-finite or out-of-range elements are refused with the tensor and index named.
 */
public final class ExactGradientSum {
  /** Fixed-point scale 2^40. */
  public static final double SCALE = 0x1.0p40;

  private static final double INVERSE_SCALE = 0x1.0p-40;
  /** Largest magnitude accepted per element of one micro-shard gradient. */
  public static final double LIMIT = 0x1.0p11;

  /** Most micro-shard gradients one sum may hold without risk of overflow. */
  public static final int MAX_TERMS = 128;

  /** Largest fixed-point magnitude of one micro-shard's element: {@code LIMIT * SCALE = 2^51}. */
  public static final long FIXED_LIMIT = 1L << 51;

  /** {@code 1.5 * 2^52}: adding and subtracting it rounds a double below 2^51 to an integer. */
  public static final double ROUNDING = 0x1.8p52;



  private final long[][] sums;

  /** Accumulators shaped like {@code shape}'s tensors. */
  public ExactGradientSum(Network shape) {
    sums = new long[shape.tensorCount()][];
    for (int t = 0; t < sums.length; t++) {
      sums[t] = new long[shape.tensor(t).length];
    }
  }

  public int tensorCount() {
    return sums.length;
  }

  /** The live fixed-point accumulator of tensor {@code t}. */
  public long[] tensor(int t) {
    return sums[t];
  }

  public void clear() {
    for (long[] s : sums) {
      java.util.Arrays.fill(s, 0L);
    }
  }

  /**
   * One element in fixed point, {@code round(v * 2^40)}: the single rounding every process
   * applies.
   *
   * @throws NonFiniteGradientException for NaN, infinite or too large values
   */
  public static long toFixed(int tensor, int index, float v) {
    if (!(Math.abs(v) < LIMIT)) {
      throw new NonFiniteGradientException(Network.tensorName(tensor), index, v);
    }
    return roundToFixed(v);
  }

  /**
   * {@code round(v * 2^40)}, to nearest, ties to even, without the range check: for callers that
   * have checked {@code |v| < }{@link #LIMIT} already.
   */
  public static long roundToFixed(float v) {
    return (long) ((v * SCALE + ROUNDING) - ROUNDING);
  }

  /** Adds every tensor of {@code g}, rounded to fixed point. */
  public void add(Gradients g) {
    for (int t = 0; t < sums.length; t++) {
      addFloats(t, g.tensor(t), 0, g.tensor(t).length);
    }
  }

  /**
   * Adds {@code values[from, from+count)}, rounded to fixed point, to the same elements of tensor
   * {@code t}.
   *
   * @throws NonFiniteGradientException for NaN, infinite or too large elements
   */
  public void addFloats(int t, float[] values, int from, int count) {
    long[] s = sums[t];
    int end = from + count;
    // Check first (a max that NaN poisons), so the adding loop has no branch and nothing is added
    // when an element is refused.
    float largest = 0f;
    for (int i = from; i < end; i++) {
      largest = Math.max(largest, Math.abs(values[i]));
    }
    if (!(largest < LIMIT)) {
      for (int i = from; i < end; i++) {
        toFixed(t, i, values[i]); // throws, naming the first offending element
      }
    }
    for (int i = from; i < end; i++) {
      s[i] += roundToFixed(values[i]);
    }
  }

  /** Adds fixed-point values {@code q[0, count)} to tensor {@code t} at element {@code offset}. */
  public void addFixed(int t, int offset, long[] q, int count) {
    long[] s = sums[t];
    for (int i = 0; i < count; i++) {
      s[offset + i] += q[i];
    }
  }

  /** Adds another accumulator's sums (exact). */
  public void addAll(ExactGradientSum other) {
    for (int t = 0; t < sums.length; t++) {
      addFixed(t, 0, other.sums[t], sums[t].length);
    }
  }

  /**
   * Writes {@code (float)(sum * 2^-40)} for every element into {@code out} and clears the sums,
   * in one pass over them.
   */
  public void drainTo(Gradients out) {
    for (int t = 0; t < sums.length; t++) {
      long[] s = sums[t];
      float[] g = out.tensor(t);
      for (int i = 0; i < s.length; i++) {
        g[i] = (float) (s[i] * INVERSE_SCALE);
        s[i] = 0L;
      }
    }
  }

  /** A gradient element that cannot be summed: NaN, infinite, or beyond {@link #LIMIT}. */
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
              + (long) LIMIT
              + " in magnitude");
    }
  }
}
