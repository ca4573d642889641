package io.gradflow.common.util;

/**
 * SplitMix64, a small random generator whose output is fixed by its seed on every JVM (unlike
 * {@link java.util.Random#nextGaussian} whose algorithm the platform may change). Everything that
 * must be reproducible to the bit (initial weights, epoch permutations, synthetic data) draws from
 * it.
 *
 * <p>{@code state += 0x9E3779B97F4A7C15; z = mix(state)} (Steele, Lea, Flood 2014).
 */
public final class SplitMix64 {
  private long state;

  public SplitMix64(long seed) {
    this.state = seed;
  }

  /** A generator for stream {@code (seed, index)}, e.g. the permutation of epoch {@code index}. */
  public static SplitMix64 forStream(long seed, long index) {
    return new SplitMix64(mix(seed ^ mix(index + 0x632BE59BD9B4E019L)));
  }

  public long nextLong() {
    state += 0x9E3779B97F4A7C15L;
    return mix(state);
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** Uniform in [0, 1) with 53 random bits. */
  public double nextDouble() {
    return (nextLong() >>> 11) * 0x1.0p-53;
  }

  /** Uniform in [0, bound) without modulo bias (Lemire's rejection). */
  public int nextInt(int bound) {
    if (bound <= 0) {
      throw new IllegalArgumentException("bound must be positive, got " + bound);
    }
    long r;
    long m;
    do {
      r = nextLong() >>> 33; // 31 bits
      m = r % bound;
    } while (r - m + (bound - 1) < 0 || r - m > (1L << 31) - bound);
    return (int) m;
  }

  /** Standard normal via Box-Muller with {@link StrictMath}, so the bits never vary. */
  public double nextGaussian() {
    double u1;
    do {
      u1 = nextDouble();
    } while (u1 <= 0.0);
    double u2 = nextDouble();
    return StrictMath.sqrt(-2.0 * StrictMath.log(u1)) * StrictMath.cos(2.0 * Math.PI * u2);
  }

  /** Fisher-Yates shuffle of {@code 0..n-1}. */
  public int[] permutation(int n) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}
