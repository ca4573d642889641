package io.gradflow.common.train;

import io.gradflow.common.data.InputScaling;
import io.gradflow.common.kernels.DenseKernels;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Backprop;

/**
 * Class probabilities of raw input rows: each batch is scaled by the model's {@link InputScaling}
 * and run through the network's forward pass ({@link Backprop#forward}, as the {@link Evaluator}
 * does), so on the same rows the probabilities are the evaluator's bit for bit.
 */
public final class Predictor {
  /** Rows per forward pass. */
  public static final int BATCH = 500;

  private final Network net;
  private final InputScaling scaling;
  private final Backprop backprop;

  public Predictor(Network net, InputScaling scaling, DenseKernels kernels) {
    this.net = net;
    this.scaling = scaling;
    this.backprop = new Backprop(net.spec(), kernels, BATCH);
  }

  /**
   * The softmax probabilities of {@code rows} raw rows of {@code raw} (row-major, the model's input
   * width), {@code rows x classes} row-major.
   */
  public float[] probabilities(float[] raw, int rows) {
    int features = net.spec().inputSize();
    int classes = net.spec().outputSize();
    float[] out = new float[rows * classes];
    float[] x = backprop.inputBuffer();
    for (int from = 0; from < rows; from += BATCH) {
      int n = Math.min(BATCH, rows - from);
      System.arraycopy(raw, from * features, x, 0, n * features);
      scaling.applyInPlace(x, n);
      float[] p = backprop.forward(net, n);
      System.arraycopy(p, 0, out, from * classes, n * classes);
    }
    return out;
  }

  /** The first class of largest probability in row {@code row} of {@code p} (rows x classes): the predicted class, which the {@link Evaluator} counts too. */
  public static int argmax(float[] p, int row, int classes) {
    int o = row * classes;
    int best = 0;
    for (int j = 1; j < classes; j++) {
      if (p[o + j] > p[o + best]) {
        best = j;
      }
    }
    return best;
  }
}
