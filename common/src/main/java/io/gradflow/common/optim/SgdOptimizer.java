package io.gradflow.common.optim;

import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.reduce.ExactGradientSum;

/**
 * Stochastic gradient descent with momentum and weight decay, as PyTorch's {@code torch.optim.SGD}
 * (weight decay on weights only, not biases):
 *
 * <pre>
 *   g = dL/dw + lambda * w        (lambda = weight decay, W tensors only)
 *   v = mu * v + g                (mu = momentum; v = g on the first step)
 *   w = w - lr_t * v
 * </pre>
 *
 * All in float32, element by element, so every process that applies the same update to the same
 * weights gets the same bits. Full-batch GD, SGD (B = 1) and minibatch SGD are this same update
 * with a different batch size.
 */
public final class SgdOptimizer {
  private final float momentum;
  private final float weightDecay;
  private final LearningRateSchedule schedule;
  private final float[][] velocity;
  private final SgdLoop loop = SgdLoop.fastest();
  private boolean lastWeightsFinite = true;
  private boolean started;

  public SgdOptimizer(Network shape, LearningRateSchedule schedule, double momentum, double weightDecay) {
    if (momentum < 0 || momentum >= 1) {
      throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
    }
    if (weightDecay < 0) {
      throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
    }
    this.schedule = schedule;
    this.momentum = (float) momentum;
    this.weightDecay = (float) weightDecay;
    velocity = new float[shape.tensorCount()][];
    for (int t = 0; t < velocity.length; t++) {
      velocity[t] = new float[shape.tensor(t).length];
    }
  }

  public LearningRateSchedule schedule() {
    return schedule;
  }

  /** Applies one update for 0-based step {@code step} in place; returns the rate it used. */
  public float step(Network net, Gradients grads, long step) {
    float lr = schedule.rate(step);
    for (int t = 0; t < velocity.length; t++) {
      float[] w = net.tensor(t);
      float[] g = grads.tensor(t);
      float[] v = velocity[t];
      float decay = (t & 1) == 0 ? weightDecay : 0f;
      if (momentum == 0f) {
        for (int i = 0; i < w.length; i++) {
          w[i] -= lr * (g[i] + decay * w[i]);
        }
      } else if (!started) {
        for (int i = 0; i < w.length; i++) {
          v[i] = g[i] + decay * w[i];
          w[i] -= lr * v[i];
        }
      } else {
        for (int i = 0; i < w.length; i++) {
          v[i] = momentum * v[i] + (g[i] + decay * w[i]);
          w[i] -= lr * v[i];
        }
      }
    }
    started = true;
    return lr;
  }

  /**
   * The same update as {@link #step(Network, Gradients, long)} applied to the gradient {@code g =
   * (float) (sum * 2^-40)} of a fixed-point sum, in one pass per tensor (see {@link SgdLoop}):
   * writes {@code g} into {@code gradient} (when not null), clears {@code sum}, and gives the same
   * bits as {@code gradient.drainFrom(sum)} followed by {@code step(net, gradient, step)}. Returns
   * the rate it used.
   */
  public float step(Network net, ExactGradientSum sum, Gradients gradient, long step) {
    return step(net, sum, null, gradient, step, null, null);
  }

  /**
   * As {@link #step(Network, ExactGradientSum, Gradients, long)} over the elements {@code [from[t],
   * end[t])} of each tensor t only (a sharded server's range; null: every element): the others of
   * the weights, momentum, gradient and sum are neither read nor written. Each element in the range
   * gets the bits of the whole pass; {@link #lastWeightsFinite()} speaks of the range. {@code
   * last}, when not null, holds fixed-point values per tensor that belong to the sum as well (a
   * step's last push, not added into {@code sum}): the gradient is that of {@code sum + last},
   * and {@code last} is left as it is.
   */
  public float step(Network net, ExactGradientSum sum, long[][] last, Gradients gradient, long step, int[] from, int[] end) {
    return step(net, sum, last, gradient, step, from, end, true);
  }

  /**
   * As {@link #step(Network, ExactGradientSum, long[][], Gradients, long, int[], int[])} over every
   * element, with {@code sum} {@link ExactGradientSum#spend spent} instead of cleared: the pass
   * does not write it (1.9 MB less to write per step for 784-256-128-10), for a sum whose next
   * values replace it whole ({@link ExactGradientSum#exchange}), as on the parameter server.
   */
  public float stepAndSpend(Network net, ExactGradientSum sum, long[][] last, Gradients gradient, long step) {
    float lr = step(net, sum, last, gradient, step, null, null, false);
    sum.spend();
    return lr;
  }

  private float step(Network net, ExactGradientSum sum, long[][] last, Gradients gradient, long step, int[] from, int[] end,
      boolean clearSum) {
    float lr = schedule.rate(step);
    SgdLoop.Mode mode = momentum == 0f ? SgdLoop.Mode.NONE : started ? SgdLoop.Mode.MOMENTUM : SgdLoop.Mode.FIRST;
    boolean finite = true;
    for (int t = 0; t < velocity.length; t++) {
      float decay = (t & 1) == 0 ? weightDecay : 0f;
      int a = from == null ? 0 : from[t];
      int b = end == null ? velocity[t].length : end[t];
      if (a < b) {
        finite &= loop.apply(sum.tensor(t), last == null ? null : last[t], gradient == null ? null : gradient.tensor(t),
            net.tensor(t), velocity[t], decay, momentum, lr, mode, a, b, clearSum);
      }
    }
    lastWeightsFinite = finite;
    started = true;
    return lr;
  }

  /** Whether every weight was finite after the last {@link #step(Network, ExactGradientSum, Gradients, long)}. */
  public boolean lastWeightsFinite() {
    return lastWeightsFinite;
  }

  /** The momentum buffer of tensor {@code t} (checkpointed with the weights). */
  public float[] velocity(int t) {
    return velocity[t];
  }

  public boolean started() {
    return started;
  }

  /** Restores the state saved in a checkpoint. */
  public void restore(float[][] savedVelocity, boolean savedStarted) {
    for (int t = 0; t < velocity.length; t++) {
      System.arraycopy(savedVelocity[t], 0, velocity[t], 0, velocity[t].length);
    }
    started = savedStarted;
  }
}
