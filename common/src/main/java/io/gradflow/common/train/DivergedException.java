package io.gradflow.common.train;

/**
 * Training diverged: a gradient or parameter of step {@link #step()} is NaN, infinite or too large
 * to sum exactly. The usual cause is a learning rate too high for the model.
 */
public final class DivergedException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final long step;

  public DivergedException(long step, String reason) {
    super("training diverged at step " + step + ": " + reason + "; try a lower --lr");
    this.step = step;
  }

  public long step() {
    return step;
  }
}
