package io.gradflow.common.kernels;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The sum of squares of a float array in double precision, {@code s = sum_i (double) a_i^2}, in
 * one fixed order so that it is the same bits on every machine and in every trainer: element
 * {@code i} of each block of {@link #BLOCK} goes to partial sum {@code i mod 16}, the 16 partial
 * sums are added in order, then the tail after the last whole block, element by element.
 * Each square of a float is exact in double (24-bit mantissas into 53), so only the additions
 * round.
 *
 * <p>It exists because the metrics log's per-layer gradient norms ({@code grad_norms}) are
 * computed on the step's thread every {@code --log-every} steps: the plain loop, one chain of
 * dependent double additions, took about 0.19 ms for the 235,146 gradients of 784-256-128-10 on
 * this project's machine, this one about 0.035 ms. The Vector API's lane-wise additions are IEEE
 * operations, so the bits do not depend on whether the JIT turns them into vector instructions;
 * the lanes are reduced here rather than by {@code reduceLanes}, whose order is unspecified. The
 * vector width ({@link VectorKernels#BITS}) changes how the 16 partial sums are held, not them.
 */
public final class SquaredNorms {
  /** Elements per step of the loop, one per partial sum. */
  static final int BLOCK = 16;

  private SquaredNorms() {}

  /**
   * {@code sum_i (double) a_i^2}, in the order of the class comment: at 512 bits the 16 partial
   * sums are two vectors of 8 doubles, at 256 bits four of 4 (the same sums, the same bits).
   */
  public static double sumOfSquares(float[] a) {
    int whole = a.length - a.length % BLOCK;
    double[] lanes = new double[BLOCK];
    if (VectorKernels.BITS >= 512) {
      partials512(a, whole, lanes);
    } else {
      partials256(a, whole, lanes);
    }
    double s = 0;
    for (double lane : lanes) {
      s += lane;
    }
    for (int i = whole; i < a.length; i++) {
      s += (double) a[i] * a[i];
    }
    return s;
  }

  // The float loads take the kernels' shape (design: one float vector species per JVM); each
  // load of 16 or 8 floats widens into two double vectors (parts 0 and 1).
  private static final VectorSpecies<Float> F16 = FloatVector.SPECIES_512;
  private static final VectorSpecies<Double> D8 = DoubleVector.SPECIES_512;

  private static void partials512(float[] a, int whole, double[] lanes) {
    DoubleVector p0 = DoubleVector.zero(D8);
    DoubleVector p1 = DoubleVector.zero(D8);
    for (int i = 0; i < whole; i += BLOCK) {
      FloatVector x = FloatVector.fromArray(F16, a, i);
      DoubleVector x0 = (DoubleVector) x.convertShape(VectorOperators.F2D, D8, 0);
      DoubleVector x1 = (DoubleVector) x.convertShape(VectorOperators.F2D, D8, 1);
      p0 = p0.add(x0.mul(x0));
      p1 = p1.add(x1.mul(x1));
    }
    p0.intoArray(lanes, 0);
    p1.intoArray(lanes, 8);
  }

  private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
  private static final VectorSpecies<Double> D4 = DoubleVector.SPECIES_256;

  private static void partials256(float[] a, int whole, double[] lanes) {
    DoubleVector p0 = DoubleVector.zero(D4);
    DoubleVector p1 = DoubleVector.zero(D4);
    DoubleVector p2 = DoubleVector.zero(D4);
    DoubleVector p3 = DoubleVector.zero(D4);
    for (int i = 0; i < whole; i += BLOCK) {
      FloatVector x = FloatVector.fromArray(F8, a, i);
      FloatVector y = FloatVector.fromArray(F8, a, i + 8);
      DoubleVector x0 = (DoubleVector) x.convertShape(VectorOperators.F2D, D4, 0);
      DoubleVector x1 = (DoubleVector) x.convertShape(VectorOperators.F2D, D4, 1);
      DoubleVector x2 = (DoubleVector) y.convertShape(VectorOperators.F2D, D4, 0);
      DoubleVector x3 = (DoubleVector) y.convertShape(VectorOperators.F2D, D4, 1);
      p0 = p0.add(x0.mul(x0));
      p1 = p1.add(x1.mul(x1));
      p2 = p2.add(x2.mul(x2));
      p3 = p3.add(x3.mul(x3));
    }
    p0.intoArray(lanes, 0);
    p1.intoArray(lanes, 4);
    p2.intoArray(lanes, 8);
    p3.intoArray(lanes, 12);
  }
}
