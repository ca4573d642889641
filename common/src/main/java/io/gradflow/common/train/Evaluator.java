package io.gradflow.common.train;

import io.gradflow.common.data.Dataset;
import io.gradflow.common.kernels.DenseKernels;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Backprop;

/** Accuracy and mean cross-entropy of a network on a data set, in batches. */
public final class Evaluator {
  private static final int CHUNK = 500;

  /** Accuracy in [0, 1], mean cross-entropy loss, rows evaluated and the time it took. */
  public record Result(double accuracy, double loss, int count, double seconds) {}

  private final Backprop backprop;
  private final int[] labels = new int[CHUNK];

  public Evaluator(Network shape, DenseKernels kernels) {
    this.backprop = new Backprop(shape.spec(), kernels, CHUNK);
  }

  public Result evaluate(Network net, Dataset data) {
    if (data.features() != net.spec().inputSize()) {
      throw new IllegalArgumentException(
          "data set " + data.name() + " has " + data.features() + " features but model "
              + net.spec().sizesText() + " expects " + net.spec().inputSize());
    }
    long start = System.nanoTime();
    int classes = net.spec().outputSize();
    long correct = 0;
    double loss = 0;
    for (int from = 0; from < data.count(); from += CHUNK) {
      int rows = Math.min(CHUNK, data.count() - from);
      data.gatherRange(from, rows, backprop.inputBuffer(), labels);
      float[] p = backprop.forward(net, rows);
      for (int i = 0; i < rows; i++) {
        if (Predictor.argmax(p, i, classes) == labels[i]) {
          correct++;
        }
        loss -= Math.log(Math.max(p[i * classes + labels[i]], Float.MIN_NORMAL));
      }
    }
    int n = data.count();
    return new Result(
        n == 0 ? 0 : (double) correct / n,
        n == 0 ? 0 : loss / n,
        n,
        (System.nanoTime() - start) / 1e9);
  }
}
