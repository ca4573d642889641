package io.gradflow.common.optim;

import io.gradflow.common.kernels.VectorKernels;
import io.gradflow.common.reduce.FixedPoint;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link SgdLoop} on the Vector API: each lane runs the scalar loop's operations on one element,
 * with the same roundings ({@code L2D}, an exact multiply by {@code 2^-40}, {@code D2F}; then
 * separate float multiplies and adds, never {@code fma}), so the bits are those of {@link
 * SgdLoop#SCALAR}; the tail runs the scalar loop.
 *
 * <p>Every vector has the kernels' shape ({@link VectorKernels#BITS}): one float vector of L lanes
 * takes two long vectors of L/2 sums, each converted to doubles and then to the lower or upper
 * half of the floats. A float vector of any other shape would be a second float species in the
 * JVM: it pollutes the type profiles of the Vector API's shared code, and C2 then fails to
 * intrinsify the kernels' fma and stores (they box every vector: ten times slower).
 */
final class VectorSgdLoop implements SgdLoop {
  private static final VectorShape SHAPE = VectorShape.forBitSize(VectorKernels.BITS);
  private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_512.withShape(SHAPE);
  private static final VectorSpecies<Long> LONGS = LongVector.SPECIES_512.withShape(SHAPE);
  private static final VectorSpecies<Double> DOUBLES = DoubleVector.SPECIES_512.withShape(SHAPE);
  private static final int HALF = LONGS.length();
  /** The float lanes filled from the second long vector. */
  private static final VectorMask<Float> UPPER = VectorMask.fromLong(FLOATS, -1L << HALF);
  private static final LongVector ZERO = LongVector.zero(LONGS);

  @Override
  public boolean apply(long[] s, long[] x, float[] g, float[] w, float[] v, float decay, float momentum, float lr, Mode mode,
      int from, int to, boolean clearSum) {
    FloatVector nonFinite = FloatVector.zero(FLOATS);
    int lanes = FLOATS.length();
    int end = to - (to - from) % lanes;
    for (int i = from; i < end; i += lanes) {
      FloatVector gi = toFloats(s, x, i, 0).blend(toFloats(s, x, i + HALF, -1), UPPER);
      if (clearSum) {
        ZERO.intoArray(s, i);
        ZERO.intoArray(s, i + HALF);
      }
      if (g != null) {
        gi.intoArray(g, i);
      }
      FloatVector wi = FloatVector.fromArray(FLOATS, w, i);
      FloatVector d = gi.add(wi.mul(decay));
      FloatVector step =
          mode == Mode.MOMENTUM ? FloatVector.fromArray(FLOATS, v, i).mul(momentum).add(d) : d;
      if (mode != Mode.NONE) {
        step.intoArray(v, i);
      }
      FloatVector updated = wi.sub(step.mul(lr));
      updated.intoArray(w, i);
      nonFinite = nonFinite.add(updated.mul(0f));
    }
    boolean tailFinite = SgdLoop.scalar(s, x, g, w, v, decay, momentum, lr, mode, end, to, clearSum);
    return tailFinite && nonFinite.reduceLanes(VectorOperators.ADD) == 0f;
  }

  /**
   * {@code (float) ((s[i + j] + x[i + j]) * 2^-40)} ({@code x} null: {@code s} alone) for the
   * {@code HALF} sums from {@code i}, in the float lanes {@code j} (part 0) or {@code HALF + j}
   * (part -1); the other lanes hold zeros.
   */
  private static FloatVector toFloats(long[] s, long[] x, int i, int part) {
    LongVector q = LongVector.fromArray(LONGS, s, i);
    if (x != null) {
      q = q.add(LongVector.fromArray(LONGS, x, i));
    }
    DoubleVector sum = (DoubleVector) q.convertShape(VectorOperators.L2D, DOUBLES, 0);
    return (FloatVector) sum.mul(FixedPoint.INVERSE_SCALE).convertShape(VectorOperators.D2F, FLOATS, part);
  }
}
