package io.gradflow.common.reduce;

/**
 * The fixed-point format of exact gradient sums, in one place: a gradient element {@code g} is
 * rounded once to the integer {@code q = round(g * 2^40)}, to nearest, ties to even; integers add
 * exactly in 64 bits, in any order; the sum goes back once, {@code g = (float) (q * 2^-40)}.
 *
 * <ul>
 *   <li>resolution {@code 2^-40 ~ 9.1e-13}, far below a float32 weight's ulp for any useful
 *       learning rate;
 *   <li>range: one micro-shard's element must satisfy {@code |g| < 2^11} ({@link #LIMIT}), so
 *       {@code |q| < 2^51} ({@link #FIXED_LIMIT}), and a sum of up to {@link #MAX_TERMS} = 2^7
 *       such terms stays below {@code 2^58}.
 * </ul>
 *
 * <p>The rounding is {@code (x + 1.5*2^52) - 1.5*2^52} in double for {@code x = g * 2^40} (exact:
 * a float times a power of two) with {@code |x| < 2^51}: plain IEEE operations that the vector
 * kernels repeat lane by lane ({@code fma(g, 2^40, 1.5*2^52)}, then the bits minus those of
 * {@code 1.5*2^52}) and the server repeats on the float gradients it receives, so every process
 * gets the same integers.
 *
 * <p>This class has no imports on purpose: the kernels, the network code, the reduction and the
 * wire codec all depend on it and on nothing of each other for it.
 */
public final class FixedPoint {
  /** {@code 2^40}: one unit of the gradient is this many fixed-point units. */
  public static final double SCALE = 0x1.0p40;

  /** {@code 2^-40}: back from fixed point. */
  public static final double INVERSE_SCALE = 0x1.0p-40;

  /** {@code 2^11}: every element of one micro-shard's gradient must be below it in magnitude. */
  public static final double LIMIT = 0x1.0p11;

  /** {@code LIMIT * SCALE = 2^51}: the largest fixed-point magnitude of one micro-shard's element. */
  public static final long FIXED_LIMIT = 1L << 51;

  /** {@code 1.5 * 2^52}: adding and subtracting it rounds a double below 2^51 to an integer. */
  public static final double ROUNDING = 0x1.8p52;

  /** Most micro-shard gradients one sum may hold without risk of overflow: {@code 2^58 / 2^51}. */
  public static final int MAX_TERMS = 128;

  private FixedPoint() {}

  /** True when {@code v} can be rounded: finite and {@code |v| < }{@link #LIMIT} (NaN is not). */
  public static boolean inRange(float v) {
    return Math.abs(v) < LIMIT;
  }

  /**
   * {@code round(v * 2^40)}, to nearest, ties to even, without the range check: for callers that
   * have checked {@link #inRange} already.
   */
  public static long roundToFixed(float v) {
    return (long) ((v * SCALE + ROUNDING) - ROUNDING);
  }

  /** {@code (float) (q * 2^-40)}: one rounding, back to a float gradient. */
  public static float toFloat(long q) {
    return (float) (q * INVERSE_SCALE);
  }
}
