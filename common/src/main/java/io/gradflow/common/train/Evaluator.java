package io.gradflow.common.train;

import io.gradflow.common.data.Dataset;
import io.gradflow.common.data.SyntheticData;
import io.gradflow.common.kernels.DenseKernels;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Backprop;

/** Accuracy and mean cross-entropy of a network on a data set, in batches. */
public final class Evaluator {
  /** Rows evaluated at a time: the last batch of a test set holds the rest. */
  public static final int BATCH_ROWS = 500;
  /** Rows of {@link #warmUpSet}'s last, short batch. */
  private static final int WARM_UP_SHORT_ROWS = 64;

  /** Accuracy in [0, 1], mean cross-entropy loss, rows evaluated and the time it took. */
  public record Result(double accuracy, double loss, int count, double seconds) {}

  private final Backprop backprop;
  private final int[] labels = new int[BATCH_ROWS];

  public Evaluator(Network shape, DenseKernels kernels) {
    this.backprop = new Backprop(shape.spec(), kernels, BATCH_ROWS);
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
    for (int from = 0; from < data.count(); from += BATCH_ROWS) {
      int rows = Math.min(BATCH_ROWS, data.count() - from);
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

  /**
   * What a warm-up evaluates: made-up rows ({@link SyntheticData#warmUpRows}) of one full batch
   * and a short one, so both of the evaluation's shapes compile (a full batch multiplies
   * untransposed, a short one transposed; see {@code VectorKernels.forward}).
   */
  public static Dataset warmUpSet(int features, int classes) {
    return SyntheticData.warmUpRows("warm-up test", BATCH_ROWS + WARM_UP_SHORT_ROWS, features, classes);
  }
}
