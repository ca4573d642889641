package io.gradflow.common.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.util.SplitMix64;
import org.junit.jupiter.api.Test;

class Bfloat16Test {
  private static float bf(float f) {
    return Bfloat16.toFloat(Bfloat16.fromFloat(f));
  }

  @Test
  void tiesGoToTheEvenMantissa() {
    // at 1.0 a bfloat16 step is 2^-7; 1 + 2^-8 is halfway between 1 (even) and 1 + 2^-7 (odd)
    assertEquals(1f, bf(1f + 0x1p-8f));
    assertEquals(-1f, bf(-1f - 0x1p-8f));
    // 1 + 3*2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even)
    assertEquals(1f + 0x1p-6f, bf(1f + 3 * 0x1p-8f));
    // just off the tie, it goes to the nearer one
    assertEquals(1f + 0x1p-7f, bf(1f + 0x1p-8f + 0x1p-23f));
    assertEquals(1f, bf(1f + 0x1p-8f - 0x1p-23f));
  }

  @Test
  void subnormalsRoundLikeAnyOtherValue() {
    float smallest = 0x1p-133f; // the smallest bfloat16 subnormal
    assertEquals(smallest, bf(smallest));
    assertEquals(0f, bf(0x1p-134f), "halfway to the smallest subnormal: ties to even, zero");
    assertEquals(2 * smallest, bf(3 * 0x1p-134f), "halfway between 1 and 2 units: to 2");
    assertEquals(0f, bf(Float.MIN_VALUE));
    assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(bf(-Float.MIN_VALUE)), "the sign stays");
    assertEquals(Float.MIN_NORMAL, bf(Float.MIN_NORMAL - Float.MIN_VALUE), "the largest float subnormal rounds up to normal");
  }

  @Test
  void nanAndInfinitiesStayWhatTheyAre() {
    assertTrue(Float.isNaN(bf(Float.NaN)));
    // a NaN whose payload is only in the dropped half must not become infinity
    float lowPayloadNaN = Float.intBitsToFloat(0x7F800001);
    assertTrue(Float.isNaN(lowPayloadNaN));
    assertTrue(Float.isNaN(bf(lowPayloadNaN)));
    assertTrue(Float.isNaN(bf(Float.intBitsToFloat(0xFF800001))));
    assertEquals(Float.POSITIVE_INFINITY, bf(Float.POSITIVE_INFINITY));
    assertEquals(Float.NEGATIVE_INFINITY, bf(Float.NEGATIVE_INFINITY));
    assertEquals(Float.POSITIVE_INFINITY, bf(Float.MAX_VALUE), "beyond the largest bfloat16: infinity");
    float largest = Float.intBitsToFloat(0x7F7F0000);
    assertEquals(largest, bf(largest));
  }

  @Test
  void everyBfloat16RoundTripsExactly() {
    for (int h = 0; h < 0x10000; h++) {
      float f = Bfloat16.toFloat((short) h);
      if (Float.isNaN(f)) {
        assertTrue(Float.isNaN(bf(f)));
      } else {
        assertEquals(h, Bfloat16.fromFloat(f) & 0xFFFF, "bits " + Integer.toHexString(h));
      }
    }
  }

  @Test
  void randomFloatsGoToTheNearestNeighbourTiesToEven() {
    SplitMix64 rng = new SplitMix64(11);
    for (int i = 0; i < 200_000; i++) {
      float f = Float.intBitsToFloat((int) rng.nextLong());
      if (!Float.isFinite(f) || Math.abs(f) > 0x1.fep127f) {
        continue;
      }
      int bits = Float.floatToRawIntBits(f);
      float down = Float.intBitsToFloat(bits & 0xFFFF0000); // toward zero
      float up = Float.intBitsToFloat((bits & 0xFFFF0000) + 0x10000); // away from zero
      double dDown = Math.abs((double) f - down);
      double dUp = Math.abs((double) f - up);
      float expected = dDown < dUp ? down : dUp < dDown ? up : ((bits >>> 16) & 1) == 0 ? down : up;
      assertEquals(expected, bf(f), "for " + f);
    }
  }

  @Test
  void fixedPointRoundsOnceToNearestEven() {
    // 257 = 1 0000 0001b needs 9 bits: halfway between 256 and 258, ties to even (256)
    assertEquals(256L, Bfloat16.toFixed(Bfloat16.fromFixed(257)));
    assertEquals(260L, Bfloat16.toFixed(Bfloat16.fromFixed(259)));
    assertEquals(-256L, Bfloat16.toFixed(Bfloat16.fromFixed(-257)));
    assertEquals(512L, Bfloat16.toFixed(Bfloat16.fromFixed(511)), "a carry to the next power of two");
    assertEquals(0, Bfloat16.fromFixed(0));
    // 2^40 (1 + 2^-8 + 2^-40) is just above a tie: once rounded it goes up to 1 + 2^-7; through a
    // float first (which drops the 2^-40) it would land on the tie and go down to 1.
    long q = (1L << 40) + (1L << 32) + 1;
    assertEquals(1f + 0x1p-7f, Bfloat16.toFloat(Bfloat16.fromFixed(q)));
    assertEquals(1f, bf((float) (q * 0x1p-40)));
  }

  @Test
  void fixedPointAgreesWithTheFloatRoundingWhereTheFloatIsExact() {
    SplitMix64 rng = new SplitMix64(5);
    for (int i = 0; i < 100_000; i++) {
      long q = (long) (rng.nextGaussian() * (1 << 22)); // |q| < 2^24: q * 2^-40 is an exact float
      assertEquals(Bfloat16.fromFloat((float) (q * 0x1p-40)), Bfloat16.fromFixed(q), "q = " + q);
    }
  }

  @Test
  void fixedPointRoundTripsValuesOfEightSignificantBitsAndStaysWithinHalfAStep() {
    SplitMix64 rng = new SplitMix64(7);
    for (int i = 0; i < 100_000; i++) {
      long q = (long) (rng.nextGaussian() * 0x1p45); // sums of ~1e-3 .. 1e2 at scale 2^40
      long back = Bfloat16.toFixed(Bfloat16.fromFixed(q));
      int shift = Math.max(0, 64 - Long.numberOfLeadingZeros(Math.abs(q)) - 8);
      assertTrue(Math.abs(back - q) <= (1L << shift) / 2, q + " -> " + back);
      assertEquals(back, Bfloat16.toFixed(Bfloat16.fromFixed(back)), "a bfloat16 value is kept exactly");
    }
  }
}
