package io.gradflow.common.wire;

import io.gradflow.common.reduce.FixedPoint;

/**
 * bfloat16 conversions. A bfloat16 is the high half of a float32: sign, the same 8 exponent bits,
 * 7 stored mantissa bits (8 significant bits, relative precision {@code 2^-8 ~ 0.4%}), the same
 * range as float32 (largest finite {@code ~3.39e38}, subnormals down to {@code 2^-133}).
 *
 * <p>Every rounding here is to nearest, ties to even, applied once: {@link #fromFixed} rounds the
 * exact value {@code q * 2^-40} straight to bfloat16, never through a float32 first (rounding
 * twice could land on the wrong side of a tie).
 */
public final class Bfloat16 {
  private static final float INVERSE_SCALE = (float) FixedPoint.INVERSE_SCALE;

  /** Significant bits of a bfloat16 (7 stored + the implicit one). */
  private static final int SIGNIFICANT_BITS = 8;

  private Bfloat16() {}

  /**
   * {@code f} rounded to bfloat16 bits, to nearest, ties to even. NaN stays NaN (made quiet, sign
   * kept), infinities stay infinite, finite values beyond bfloat16's largest round to infinity,
   * subnormals round like any other value (the bit pattern is monotonic in the value).
   */
  public static short fromFloat(float f) {
    int bits = Float.floatToRawIntBits(f);
    if (Float.isNaN(f)) {
      return (short) ((bits >>> 16) | 0x0040);
    }
    // Adding 0x7FFF plus the lowest kept bit carries into the kept half exactly when the dropped
    // half is above one half, or exactly one half with an odd kept half.
    int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
    return (short) (rounded >>> 16);
  }

  /** The float32 of bfloat16 bits {@code h} (exact: every bfloat16 is a float32). */
  public static float toFloat(short h) {
    return Float.intBitsToFloat((h & 0xFFFF) << 16);
  }

  /**
   * The fixed-point value {@code q} (meaning {@code q * 2^-40}) rounded once to bfloat16: {@code
   * |q|} is rounded to its 8 leading significant bits (to nearest, ties to even), which is exact
   * to scale and to store. Needs {@code |q| < 2^62}; exact sums stay below {@code 2^58}.
   */
  public static short fromFixed(long q) {
    long mag = Math.abs(q);
    // shift drops all but the 8 leading significant bits; adding half a kept unit minus one, plus
    // the lowest kept bit, carries exactly when the dropped part is above half, or half with an odd
    // kept part (branch-free: a branch here mispredicts on every other element)
    int shift = Math.max(0, 64 - SIGNIFICANT_BITS - Long.numberOfLeadingZeros(mag));
    long bias = shift == 0 ? 0 : (1L << (shift - 1)) - 1 + ((mag >>> shift) & 1);
    long rounded = ((mag + bias) >>> shift) << shift; // a carry to 2^8 is still one significant bit
    // rounded has at most 8 significant bits and is 0 or at least 1: the float, the scaling by
    // 2^-40 (a normal result) and dropping the low half are all exact.
    float f = (float) rounded * INVERSE_SCALE;
    return (short) (Float.floatToRawIntBits(q < 0 ? -f : f) >>> 16);
  }

  /**
   * bfloat16 {@code h} in fixed point, {@code round(h * 2^40)} (to nearest, ties to even): exact
   * for every value {@link #fromFixed} produces. Needs a finite {@code |h| < 2^22}; callers check.
   */
  public static long toFixed(short h) {
    return (long) Math.rint(toFloat(h) * FixedPoint.SCALE);
  }
}
