package io.gradflow.common.optim;

import io.gradflow.common.reduce.FixedPoint;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link SgdLoop} on the Vector API: each lane runs the scalar loop's operations on one element,
 * with the same roundings ({@code L2D}, an exact multiply by {@code 2^-40}, {@code D2F}; then
 * separate float multiplies and adds, never {@code fma}), so the bits are those of {@link
 * SgdLoop#SCALAR}; the tail runs the scalar loop. Longs and doubles fill the preferred vector
 * width; the floats of as many lanes fill half of it.
 */
final class VectorSgdLoop implements SgdLoop {
  private static final VectorSpecies<Long> LONGS = LongVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Double> DOUBLES = DoubleVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Float> FLOATS =
      FloatVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(LONGS.vectorBitSize() / 2));
  private static final LongVector ZERO = LongVector.zero(LONGS);

  @Override
  public void apply(long[] s, float[] g, float[] w, float[] v, float decay, float momentum, float lr, Mode mode) {
    int lanes = LONGS.length();
    int n = s.length;
    int end = n - n % lanes;
    for (int i = 0; i < end; i += lanes) {
      DoubleVector sum = (DoubleVector) LongVector.fromArray(LONGS, s, i).convertShape(VectorOperators.L2D, DOUBLES, 0);
      FloatVector gi = (FloatVector) sum.mul(FixedPoint.INVERSE_SCALE).convertShape(VectorOperators.D2F, FLOATS, 0);
      ZERO.intoArray(s, i);
      gi.intoArray(g, i);
      FloatVector wi = FloatVector.fromArray(FLOATS, w, i);
      FloatVector d = gi.add(wi.mul(decay));
      FloatVector step =
          mode == Mode.MOMENTUM ? FloatVector.fromArray(FLOATS, v, i).mul(momentum).add(d) : d;
      if (mode != Mode.NONE) {
        step.intoArray(v, i);
      }
      wi.sub(step.mul(lr)).intoArray(w, i);
    }
    SgdLoop.scalar(s, g, w, v, decay, momentum, lr, mode, end, n);
  }
}
