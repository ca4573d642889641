package io.gradflow.common.gradcheck;

import io.gradflow.common.model.Activation;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;

/**
 * The mean cross-entropy of a network in double precision, from its float32 weights and inputs
 * widened exactly, for finite differences whose rounding noise ({@code ~1e-16 / eps}) is far below
 * what they check:
 *
 * <pre>
 *   z_l = a_l W_l^T + b_l     (a_0 = x)          a_(l+1) = f_l(z_l)   (hidden layers)
 *   L   = (1/B) sum_i [ log sum_j e^(z_ij) - z_(i,t_i) ]   at the last layer's z
 * </pre>
 *
 * <p>The weights are held as doubles that the check perturbs in place ({@link #tensor}); each
 * {@link #meanLoss} also records the sign pattern of the ReLU pre-activations, so that a step
 * across a kink shows without another pass.
 */
final class DoubleForward {
  private final ModelSpec spec;
  private final double[][] tensors;
  private final double[] inputs;
  private final int[] labels;
  private final int rows;
  /** {@code acts[l]}: the input of layer {@code l} ({@code acts[0] = x}); the last holds the logits. */
  private final double[][] acts;
  private final boolean[] pattern;

  DoubleForward(Network net, float[] inputs, int[] labels, int rows) {
    this.spec = net.spec();
    this.tensors = new double[net.tensorCount()][];
    for (int t = 0; t < tensors.length; t++) {
      float[] w = net.tensor(t);
      tensors[t] = new double[w.length];
      for (int i = 0; i < w.length; i++) {
        tensors[t][i] = w[i];
      }
    }
    this.inputs = new double[rows * spec.inputSize()];
    for (int i = 0; i < this.inputs.length; i++) {
      this.inputs[i] = inputs[i];
    }
    this.labels = labels.clone();
    this.rows = rows;
    acts = new double[spec.layerCount() + 1][];
    acts[0] = this.inputs;
    int reluUnits = 0;
    for (int l = 0; l < spec.layerCount(); l++) {
      acts[l + 1] = new double[rows * spec.fanOut(l)];
      boolean hidden = l < spec.layerCount() - 1;
      reluUnits += hidden && spec.activation(l) == Activation.RELU ? rows * spec.fanOut(l) : 0;
    }
    pattern = new boolean[reluUnits];
  }

  /** Tensor {@code t} in {@link Network}'s canonical order, as doubles; the live array. */
  double[] tensor(int t) {
    return tensors[t];
  }

  /** {@code z > 0} for every ReLU pre-activation of the last {@link #meanLoss}; a live array. */
  boolean[] reluPattern() {
    return pattern;
  }

  /** {@code L}, at the current weights. */
  double meanLoss() {
    int k = 0;
    int layers = spec.layerCount();
    for (int l = 0; l < layers; l++) {
      int in = spec.fanIn(l);
      int out = spec.fanOut(l);
      double[] a = acts[l];
      double[] z = acts[l + 1];
      double[] w = tensors[2 * l];
      double[] b = tensors[2 * l + 1];
      for (int i = 0; i < rows; i++) {
        for (int j = 0; j < out; j++) {
          double s = b[j];
          for (int c = 0; c < in; c++) {
            s += a[i * in + c] * w[j * in + c];
          }
          z[i * out + j] = s;
        }
      }
      if (l < layers - 1) {
        Activation f = spec.activation(l);
        for (int i = 0; i < z.length; i++) {
          if (f == Activation.RELU) {
            pattern[k++] = z[i] > 0;
          }
          z[i] = f.applyDouble(z[i]);
        }
      }
    }
    double[] logits = acts[layers];
    int classes = spec.outputSize();
    double sum = 0;
    for (int i = 0; i < rows; i++) {
      double max = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < classes; j++) {
        max = Math.max(max, logits[i * classes + j]);
      }
      double e = 0;
      for (int j = 0; j < classes; j++) {
        e += StrictMath.exp(logits[i * classes + j] - max);
      }
      sum += max + StrictMath.log(e) - logits[i * classes + labels[i]];
    }
    return sum / rows;
  }
}
