package io.gradflow.common.train;

import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.optim.SgdOptimizer;
import io.gradflow.common.reduce.ExactGradientSum;

/**
 * One synchronous step's reduction and update, shared by the single-process trainer and the
 * parameter server: the exact sum of every micro-shard's gradient is turned into the float
 * gradient of the global batch, and the optimizer applies it once.
 */
public final class SynchronousUpdate {
  private final ExactGradientSum sum;
  private final Gradients gradient;
  private final SgdOptimizer optimizer;

  public SynchronousUpdate(Network shape, SgdOptimizer optimizer) {
    this.sum = new ExactGradientSum(shape);
    this.gradient = new Gradients(shape.spec());
    this.optimizer = optimizer;
  }

  /** The accumulator the step's micro-shard gradients are added into. */
  public ExactGradientSum sum() {
    return sum;
  }

  /** The reduced float gradient of the last applied step. */
  public Gradients gradient() {
    return gradient;
  }

  public SgdOptimizer optimizer() {
    return optimizer;
  }

  /**
   * {@code g = sum * 2^-40} (the micro-shard gradients already carry the 1/B of the mean), then
   * the optimizer's {@code w -= lr_t * v};
   * clears the accumulator for the next step and returns {@code lr_t}: one fused pass per tensor
   * ({@link SgdOptimizer#step(Network, ExactGradientSum, Gradients, long)}).
   */
  public float apply(Network net, long step) {
    return apply(net, step, true);
  }

  /**
   * As {@link #apply(Network, long)}; {@code keepGradient} false: {@link #gradient()} is not
   * written (nobody reads this step's gradient; the same weights).
   */
  public float apply(Network net, long step, boolean keepGradient) {
    return optimizer.step(net, sum, keepGradient ? gradient : null, step);
  }

  /**
   * As {@link #apply(Network, long, boolean)} with the micro-shard gradients summed in {@code
   * stepSum} (one of several steps open at once) and, when not null, in {@code last}: a push's
   * fixed-point values per tensor not added into {@code stepSum}, added in the update's pass
   * instead (exact, so the same bits). {@code stepSum} is spent, not cleared ({@link
   * SgdOptimizer#stepAndSpend}): the parameter server's next push into it replaces it whole.
   */
  public float apply(Network net, ExactGradientSum stepSum, long[][] last, long step, boolean keepGradient) {
    return optimizer.stepAndSpend(net, stepSum, last, keepGradient ? gradient : null, step);
  }

  /**
   * As {@link #apply(Network, ExactGradientSum, long[][], long, boolean)} over one sharded server's range
   * only: the fused pass runs over {@code range}'s elements of each tensor and leaves the others
   * alone (see {@link SgdOptimizer#step(Network, ExactGradientSum, long[][], Gradients, long, int[],
   * int[])}).
   */
  public float apply(Network net, ExactGradientSum stepSum, long step, io.gradflow.common.wire.ParameterRange range) {
    return optimizer.step(net, stepSum, null, gradient, step, range.from(), range.end());
  }
}
