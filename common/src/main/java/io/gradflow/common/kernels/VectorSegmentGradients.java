package io.gradflow.common.kernels;

import static io.gradflow.common.kernels.VectorGeometry.KC;
import static io.gradflow.common.kernels.VectorGeometry.L;
import static io.gradflow.common.kernels.VectorGeometry.MR;
import static io.gradflow.common.kernels.VectorGeometry.SPECIES;
import static io.gradflow.common.kernels.VectorGeometry.grow;
import static io.gradflow.common.kernels.VectorKernels.columnSums;

import io.gradflow.common.reduce.FixedPoint;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fixed-point segment gradients of {@link VectorKernels#addSegmentGradientsFixed}. Tile by
 * tile of {@code dW} ({@link VectorGeometry#MR} rows by {@link #NB} columns), every segment's
 * products are computed into a float tile by the same micro-kernels and chains as {@link
 * VectorKernels#weightGradient} (so the same bits), then rounded to fixed point and added while
 * tile and sums are still in L1, two segments' tiles at a time (the sums loaded and stored once
 * per pair). Rounding a whole {@code dW} per segment in a separate pass, as {@code
 * Gradients.addTo} does, streams the 8-byte sums through memory once per segment and cost about a
 * third of a training step. With {@code overwrite} the first pair's rounded values are stored
 * without loading the sums, so sums that count as zero need no clearing pass before.
 *
 * <p>Not thread-safe: the tiles belong to the instance, and the bias buffers grow to the widest
 * layer seen and are then reused. Each {@link VectorKernels} owns one, which computes with its
 * {@link VectorGemm}.
 */
final class VectorSegmentGradients {
  /** Columns of dW per fixed-point tile in {@link #add}. */
  private static final int NB = 256;
  /** The float tile's row stride: not a multiple of 512 bytes (see {@code VectorKernels.padLd}). */
  private static final int LDT = NB + L;
  private static final VectorSpecies<Double> DOUBLES = VectorSpecies.of(double.class, SPECIES.vectorShape());
  private static final VectorSpecies<Long> LONGS = VectorSpecies.of(long.class, SPECIES.vectorShape());
  /** {@link FixedPoint#ROUNDING}: adding it to a double below 2^51 rounds it to an integer. */
  private static final double ROUNDING = FixedPoint.ROUNDING;
  /** {@link FixedPoint#LIMIT} as a float. */
  private static final float FIXED_LIMIT = (float) FixedPoint.LIMIT;

  private final float[] fixTile = new float[MR * LDT];
  /** The second segment's tile of a pair ({@link #add}). */
  private final float[] fixTile2 = new float[MR * LDT];
  /** Zeros: the partner of an unpaired last segment (its fixed point is 0). */
  private final float[] zeroTile = new float[MR * LDT];
  private float[] fixBias = new float[0];
  private float[] fixBias2 = new float[0];
  private float[] zeroBias = new float[0];
  private final VectorGemm products;

  VectorSegmentGradients(VectorGemm products) {
    this.products = products;
  }

  /**
   * Adds the rounded gradients of segments {@code [0, segments)} to {@code dwSum} and {@code
   * dbSum}, or with {@code overwrite} stores them: {@code dzt} is {@code dZ^T} of rows {@code
   * [first, starts[segments])} packed with row stride {@code ldz} (column {@code c} is row {@code
   * first + c}), {@code dz} and {@code x} the rows as they are. {@link
   * VectorKernels#addSegmentGradientsFixed} has checked the arguments.
   *
   * @return whether every element of every segment was below {@code 2^11} in magnitude (NaN is
   *     not)
   */
  boolean add(float[] dz, float[] dzt, int ldz, float[] x, int[] starts, int first, int segments,
      int in, int out, long[] dwSum, long[] dbSum, boolean overwrite) {
    boolean finite = true;
    for (int j0 = 0; j0 < out; j0 += MR) {
      int m = Math.min(MR, out - j0);
      for (int k0 = 0; k0 < in; k0 += NB) {
        int n = Math.min(NB, in - k0);
        for (int s = 0; s < segments; s += 2) {
          segmentTile(dzt, ldz, x, starts, first, s, j0, m, k0, n, in, fixTile);
          float[] second = zeroTile;
          if (s + 1 < segments) {
            segmentTile(dzt, ldz, x, starts, first, s + 1, j0, m, k0, n, in, fixTile2);
            second = fixTile2;
          }
          finite &= addRounded(fixTile, second, LDT, m, n, dwSum, j0 * in + k0, in, overwrite && s == 0);
        }
      }
    }
    float[] db = fixBias = grow(fixBias, out);
    float[] db2 = fixBias2 = grow(fixBias2, out);
    zeroBias = grow(zeroBias, out);
    for (int s = 0; s < segments; s += 2) {
      columnSums(dz, starts[s] * out, starts[s + 1] - starts[s], out, db);
      float[] second = zeroBias;
      if (s + 1 < segments) {
        columnSums(dz, starts[s + 1] * out, starts[s + 2] - starts[s + 1], out, db2);
        second = db2;
      }
      finite &= addRounded(db, second, out, 1, out, dbSum, 0, out, overwrite && s == 0);
    }
    return finite;
  }

  /**
   * Segment {@code s}'s products for the tile of rows {@code [j0, j0 + m)} and columns {@code [k0,
   * k0 + n)} of {@code dW} into {@code tile}: {@code dZ_s^T X_s}, blocks of {@link VectorGeometry#KC} rows in
   * order.
   */
  private void segmentTile(float[] dzt, int ldz, float[] x, int[] starts, int first, int s,
      int j0, int m, int k0, int n, int in, float[] tile) {
    int r0 = starts[s] - first;
    int r1 = starts[s + 1] - first;
    for (int p = r0; p < r1; p += KC) {
      products.gemmBlock(dzt, ldz, j0 * ldz + p, m, Math.min(KC, r1 - p),
          x, (first + p) * in + k0, in, n, tile, LDT, p > r0);
    }
  }

  /**
   * {@code sum[off + r*lds + c] += round(t[r*ldt + c] * 2^40) + round(u[r*ldt + c] * 2^40)} for
   * {@code r < m, c < n}: two segments' tiles at once ({@code u} all zeros for an unpaired one),
   * so the sums are loaded and stored once per two segments; adding the two integers first is
   * exact, so the bits are those of adding each in turn. Each rounding is {@link
   * FixedPoint#roundToFixed}'s, ties to even: the float widened to double, {@code fma(v, 2^40,
   * 1.5*2^52)} (exact product, one rounding to an integer), then the bits of that double minus the
   * bits of {@code 1.5*2^52}, which is the integer itself for {@code |v 2^40| < 2^51}. Each float
   * vector widens into two double vectors of the same width. (Only {@link VectorGeometry#SPECIES} is used for
   * floats: a second float species in the same JVM pollutes the type profiles of the shared Vector
   * API code, and C2 then fails to intrinsify the micro-kernels' stores.) Returns whether every
   * element of both tiles was below {@code 2^11} in magnitude (NaN is not). With {@code store} the
   * sums are not loaded: {@code sum[...] = round(t) + round(u)}.
   */
  private static boolean addRounded(
      float[] t, float[] u, int ldt, int m, int n, long[] sum, int off, int lds, boolean store) {
    DoubleVector scale = DoubleVector.broadcast(DOUBLES, FixedPoint.SCALE);
    DoubleVector rounding = DoubleVector.broadcast(DOUBLES, ROUNDING);
    LongVector twiceRoundingBits = LongVector.broadcast(LONGS, 2 * Double.doubleToRawLongBits(ROUNDING));
    boolean below = true;
    int h = DOUBLES.length();
    int nv = n - n % L;
    for (int r = 0; r < m; r++) {
      int ti = r * ldt;
      int si = off + r * lds;
      for (int c = 0; c < nv; c += L) {
        FloatVector v = FloatVector.fromArray(SPECIES, t, ti + c);
        FloatVector w = FloatVector.fromArray(SPECIES, u, ti + c);
        below &= v.abs().compare(VectorOperators.LT, FIXED_LIMIT)
            .and(w.abs().compare(VectorOperators.LT, FIXED_LIMIT)).allTrue();
        LongVector q0 = roundedBits(v, 0, scale, rounding).add(roundedBits(w, 0, scale, rounding)).sub(twiceRoundingBits);
        LongVector q1 = roundedBits(v, 1, scale, rounding).add(roundedBits(w, 1, scale, rounding)).sub(twiceRoundingBits);
        if (store) {
          q0.intoArray(sum, si + c);
          q1.intoArray(sum, si + c + h);
        } else {
          LongVector.fromArray(LONGS, sum, si + c).add(q0).intoArray(sum, si + c);
          LongVector.fromArray(LONGS, sum, si + c + h).add(q1).intoArray(sum, si + c + h);
        }
      }
      for (int c = nv; c < n; c++) {
        float a = t[ti + c];
        float b = u[ti + c];
        below &= Math.abs(a) < FIXED_LIMIT && Math.abs(b) < FIXED_LIMIT;
        long q = FixedPoint.roundToFixed(a) + FixedPoint.roundToFixed(b);
        sum[si + c] = store ? q : sum[si + c] + q;
      }
    }
    return below;
  }

  /** The bits of {@code fma((double) v_i, 2^40, 1.5*2^52)} for the lanes of half {@code part} of {@code v}. */
  private static LongVector roundedBits(FloatVector v, int part, DoubleVector scale, DoubleVector rounding) {
    return ((DoubleVector) v.convertShape(VectorOperators.F2D, DOUBLES, part)).fma(scale, rounding).reinterpretAsLongs();
  }
}
