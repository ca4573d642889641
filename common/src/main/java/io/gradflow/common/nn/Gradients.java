package io.gradflow.common.nn;

import io.gradflow.common.kernels.SquaredNorms;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.reduce.ExactGradientSum;

/**
 * {@code dL/dW_l} and {@code dL/db_l} for every layer, in the same tensor order and shapes as
 * {@link Network}.
 */
public final class Gradients {
  private final float[][] tensors;

  public Gradients(ModelSpec spec) {
    Network shape = new Network(spec);
    tensors = new float[shape.tensorCount()][];
    for (int t = 0; t < tensors.length; t++) {
      tensors[t] = new float[shape.tensor(t).length];
    }
  }

  public int tensorCount() {
    return tensors.length;
  }

  /** Tensor {@code t} in {@link Network}'s canonical order; the live array. */
  public float[] tensor(int t) {
    return tensors[t];
  }

  /**
   * Adds every tensor, each element rounded once to fixed point, to {@code sum}.
   *
   * @throws ExactGradientSum.NonFiniteGradientException naming the first element that is NaN,
   *     infinite or too large; nothing of that tensor is added
   */
  public void addTo(ExactGradientSum sum) {
    for (int t = 0; t < tensors.length; t++) {
      sum.addFloats(t, tensors[t], 0, tensors[t].length);
    }
  }

  /** Overwrites every tensor with {@code sum}'s value, {@code g = (float) (q * 2^-40)}, and clears {@code sum}. */
  public void drainFrom(ExactGradientSum sum) {
    for (int t = 0; t < tensors.length; t++) {
      sum.drainTo(t, tensors[t]);
    }
  }

  public float[] weights(int layer) {
    return tensors[2 * layer];
  }

  public float[] biases(int layer) {
    return tensors[2 * layer + 1];
  }

  public int layerCount() {
    return tensors.length / 2;
  }

  /**
   * L2 norm of each layer's gradient, W and b together: {@code ||(dW_l, db_l)||_2 =
   * sqrt(sum dW_l^2 + sum db_l^2)}, each sum in {@link SquaredNorms}'s fixed order. Under sigmoid
   * these shrink towards the input (vanishing gradients).
   */
  public double[] layerNorms() {
    double[] norms = new double[layerCount()];
    for (int l = 0; l < norms.length; l++) {
      norms[l] = Math.sqrt(SquaredNorms.sumOfSquares(weights(l)) + SquaredNorms.sumOfSquares(biases(l)));
    }
    return norms;
  }
}
