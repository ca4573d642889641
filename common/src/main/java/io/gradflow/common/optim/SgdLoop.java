package io.gradflow.common.optim;

import io.gradflow.common.reduce.FixedPoint;

/**
 * One tensor's whole update in one pass over its elements: the fixed-point sum back to float, the
 * sum cleared, weight decay, momentum and the step (see {@link SgdOptimizer} for the formulas).
 * Per element, in this order and with these roundings (Java float arithmetic, no fused
 * multiply-add):
 *
 * <pre>
 *   g[i] = (float) ((double) (s[i] + x[i]) * 2^-40);  s[i] = 0
 *   d    = g[i] + decay * w[i]               (decay * w[i] rounded, then the sum rounded)
 *   v[i] = d                                 (FIRST)  or  momentum * v[i] + d   (MOMENTUM)
 *   w[i] = w[i] - lr * v[i]                  (NONE: w[i] - lr * d, v untouched)
 * </pre>
 *
 * {@code x} is an optional second sum of fixed-point values (the last push of a step, added in
 * this pass instead of in a pass of its own; null: none); adding integers is exact, so {@code s +
 * x} is the sum that adding {@code x} into {@code s} first would give, and {@code x} is not written.
 * {@code g} may be null (the gradient is not stored: nobody reads it this step), and {@code s} is
 * left as it is when the caller says so (its next values replace it whole): each skipped store is
 * 4 or 8 bytes an element less to write, and neither changes a weight's bits.
 * These are exactly the operations of the former two passes ({@code ExactGradientSum.drainTo},
 * then {@link SgdOptimizer#step}); elements do not depend on each other, so fusing the passes
 * cannot change a bit. {@link #SCALAR} is the reference; {@code VectorSgdLoop} repeats it lane by
 * lane on the Vector API and is used when the JVM has {@code jdk.incubator.vector}.
 */
interface SgdLoop {
  /** How the momentum buffer enters: none (momentum 0), the first step ({@code v = d}), or later steps. */
  enum Mode {
    NONE,
    FIRST,
    MOMENTUM
  }

  /**
   * The whole tensor's update, {@code s} cleared; returns whether every updated weight is finite
   * (checked in the same pass: {@code w * 0} is 0 only for finite w).
   */
  default boolean apply(long[] s, long[] x, float[] g, float[] w, float[] v, float decay, float momentum, float lr, Mode mode) {
    return apply(s, x, g, w, v, decay, momentum, lr, mode, 0, s.length, true);
  }

  /**
   * The update of elements {@code [from, to)} only (a sharded server's range of the tensor); the
   * others are not read or written. Each element gets the same bits as in the whole pass. {@code
   * g} null: the gradient is not stored; {@code clearSum} false: {@code s} is not written.
   */
  boolean apply(long[] s, long[] x, float[] g, float[] w, float[] v, float decay, float momentum, float lr, Mode mode,
      int from, int to, boolean clearSum);

  /** The scalar reference loop. */
  SgdLoop SCALAR = SgdLoop::scalar;

  /** The scalar loop over elements {@code [from, to)} (see {@link #apply}); returns whether every updated weight is finite. */
  static boolean scalar(long[] s, long[] x, float[] g, float[] w, float[] v, float decay, float momentum, float lr, Mode mode,
      int from, int to, boolean clearSum) {
    float nonFinite = 0f;
    for (int i = from; i < to; i++) {
      float gi = FixedPoint.toFloat(x == null ? s[i] : s[i] + x[i]);
      if (clearSum) {
        s[i] = 0L;
      }
      if (g != null) {
        g[i] = gi;
      }
      float d = gi + decay * w[i];
      switch (mode) {
        case NONE -> w[i] -= lr * d;
        case FIRST -> {
          v[i] = d;
          w[i] -= lr * d;
        }
        case MOMENTUM -> {
          float vi = momentum * v[i] + d;
          v[i] = vi;
          w[i] -= lr * vi;
        }
      }
      nonFinite += w[i] * 0f;
    }
    return nonFinite == 0f;
  }

  /** The vector loop when the JVM has the Vector API, else {@link #SCALAR}. */
  static SgdLoop fastest() {
    return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent() ? new VectorSgdLoop() : SCALAR;
  }
}
