package io.gradflow.common.nn;

import io.gradflow.common.kernels.DenseKernels;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.reduce.ExactGradientSum;

/**
 * Forward and backward pass of a dense network on a minibatch in matrix form, with softmax +
 * cross-entropy on the last layer. Buffers are allocated once for the largest batch and reused.
 *
 * <p>Forward, per layer {@code l}: {@code Z_l = A_l W_l^T + b_l}, {@code A_(l+1) = f_l(Z_l)}, with
 * {@code A_0 = X}. The logits are {@code Z_(L-1)}; {@code P = softmax(Z_(L-1))} row by row.
 *
 * <p>Loss: {@code L = -(1/S) sum_i log P_(i, t_i)}, where {@code S} is the loss denominator: the
 * global batch size, so that the gradients of the micro-shards of a batch add up to the gradient of
 * the whole batch.
 *
 * <p>Backward: {@code dZ_(L-1) = (P - T) / S} at the logits; then per layer, last first:
 * {@code dW_l = dZ_l^T A_l}, {@code db_l = colsum(dZ_l)}, {@code dA_l = dZ_l W_l}, and
 * {@code dZ_(l-1) = dA_l * f'_(l-1)} with the activation's local rule written through its output.
 * Two passes, whatever the number of parameters.
 */
public final class Backprop {
  private final ModelSpec spec;
  private final DenseKernels kernels;
  private final int maxBatch;
  /** acts[0] is a copy slot for X; acts[l+1] holds A_(l+1) (logits, then probabilities, last). */
  private final float[][] acts;
  /** deltas[l] holds dZ_l; deltas[0] is never needed for dX and doubles as scratch. */
  private final float[][] deltas;
  private final float[] input;
  private final double[] softmaxScratch;

  public Backprop(ModelSpec spec, DenseKernels kernels, int maxBatch) {
    if (maxBatch <= 0) {
      throw new IllegalArgumentException("batch must be positive, got " + maxBatch);
    }
    this.spec = spec;
    this.kernels = kernels;
    this.maxBatch = maxBatch;
    int layers = spec.layerCount();
    acts = new float[layers + 1][];
    deltas = new float[layers][];
    input = new float[maxBatch * spec.inputSize()];
    acts[0] = input;
    softmaxScratch = new double[spec.outputSize()];
    for (int l = 0; l < layers; l++) {
      acts[l + 1] = new float[maxBatch * spec.fanOut(l)];
      deltas[l] = new float[maxBatch * spec.fanOut(l)];
    }
  }

  public ModelSpec spec() {
    return spec;
  }

  public DenseKernels kernels() {
    return kernels;
  }

  public int maxBatch() {
    return maxBatch;
  }

  /** The input buffer ({@code maxBatch x inputs}); callers fill its first rows, then call a pass. */
  public float[] inputBuffer() {
    return input;
  }

  /**
   * Forward pass on the first {@code rows} rows of {@link #inputBuffer()}; returns the softmax
   * probabilities ({@code rows x classes}, a live buffer valid until the next call).
   */
  public float[] forward(Network net, int rows) {
    checkRows(rows);
    int layers = spec.layerCount();
    for (int l = 0; l < layers; l++) {
      int in = spec.fanIn(l);
      int out = spec.fanOut(l);
      float[] z = acts[l + 1];
      kernels.forward(acts[l], net.weights(l), net.biases(l), z, rows, in, out);
      if (l < layers - 1) {
        kernels.activate(spec.activation(l), z, rows * out);
      }
    }
    float[] logits = acts[layers];
    softmaxRowsInPlace(logits, rows, spec.outputSize(), softmaxScratch);
    return logits;
  }

  /**
   * Forward and backward on the first {@code rows} rows of {@link #inputBuffer()} with labels
   * {@code labels[0..rows)}; overwrites {@code grads} with this batch's {@code dL/dW}, {@code
   * dL/db} and returns the summed (not averaged) cross-entropy {@code -sum_i log P_(i,t_i)}.
   *
   * @param lossDenominator S in {@code dZ = (P - T) / S}: the global batch size
   */
  public double forwardBackward(
      Network net, int[] labels, int rows, double lossDenominator, Gradients grads) {
    float[] probs = forward(net, rows);
    double lossSum = outputDelta(probs, labels, 0, rows, lossDenominator);
    backward(net, rows, grads, null, 0, null);
    return lossSum;
  }

  /**
   * Forward and backward on the first {@code starts[segments]} rows of {@link #inputBuffer()}, cut
   * into segments {@code [starts[s], starts[s+1])} ({@code starts[0] = 0}): each segment's
   * gradient, the same bits that {@link #forwardBackward} gives on that segment's rows alone, is
   * rounded to fixed point and added to {@code sum}, and its summed cross-entropy is written to
   * {@code segmentLoss[lossOffset + s]}. One pass over all rows keeps the products large; it needs
   * kernels with {@link DenseKernels#segmentsFixed()}, whose rows do not see each other.
   *
   * @return false when some element of a segment's gradient is NaN, infinite or too large to
   *     round (see {@link ExactGradientSum}); {@code sum} then holds a partial result
   */
  public boolean forwardBackwardFixed(
      Network net, int[] labels, int[] starts, int segments, double lossDenominator,
      ExactGradientSum sum, double[] segmentLoss, int lossOffset) {
    if (!kernels.segmentsFixed()) {
      throw new IllegalStateException("kernels " + kernels.id() + " cannot round segments to fixed point");
    }
    int rows = starts[segments];
    float[] probs = forward(net, rows);
    for (int s = 0; s < segments; s++) {
      segmentLoss[lossOffset + s] = outputDelta(probs, labels, starts[s], starts[s + 1], lossDenominator);
    }
    return backward(net, rows, null, starts, segments, sum);
  }

  /**
   * {@code dZ = (P - T) / S} at the logits for rows {@code [from, to)}; returns their summed
   * cross-entropy, added in row order.
   */
  private double outputDelta(float[] probs, int[] labels, int from, int to, double lossDenominator) {
    int classes = spec.outputSize();
    double lossSum = 0;
    float scale = (float) (1.0 / lossDenominator);
    float[] dz = deltas[spec.layerCount() - 1];
    for (int i = from; i < to; i++) {
      int t = labels[i];
      if (t < 0 || t >= classes) {
        throw new IllegalArgumentException(
            "label " + t + " at row " + i + " is out of range 0.." + (classes - 1));
      }
      int row = i * classes;
      lossSum -= StrictMath.log(Math.max(probs[row + t], Float.MIN_NORMAL));
      for (int j = 0; j < classes; j++) {
        float target = j == t ? 1f : 0f;
        dz[row + j] = (probs[row + j] - target) * scale;
      }
    }
    return lossSum;
  }

  /**
   * Backward from {@code dZ} at the logits, last layer first: into {@code grads} when it is given,
   * otherwise each segment's gradient in fixed point into {@code sum}. Returns false when a
   * segment's gradient could not be rounded.
   */
  private boolean backward(
      Network net, int rows, Gradients grads, int[] starts, int segments, ExactGradientSum sum) {
    for (int l = spec.layerCount() - 1; l >= 0; l--) {
      int in = spec.fanIn(l);
      int out = spec.fanOut(l);
      float[] dzl = deltas[l];
      if (grads != null) {
        kernels.weightGradient(dzl, acts[l], grads.weights(l), rows, in, out);
        kernels.biasGradient(dzl, grads.biases(l), rows, out);
      } else {
        // A spent sum counts as zero: the kernel stores its first values instead of clearing the
        // arrays in a pass of their own and adding to the zeros.
        boolean overwrite = sum.isSpent(2 * l) && sum.isSpent(2 * l + 1);
        long[] dw = overwrite ? sum.claim(2 * l) : sum.tensor(2 * l);
        long[] db = overwrite ? sum.claim(2 * l + 1) : sum.tensor(2 * l + 1);
        if (!kernels.addSegmentGradientsFixed(dzl, acts[l], starts, segments, in, out, dw, db, overwrite)) {
          return false;
        }
      }
      if (l > 0) {
        float[] dPrev = deltas[l - 1];
        kernels.inputGradient(dzl, net.weights(l), dPrev, rows, in, out);
        kernels.activationGradient(spec.activation(l - 1), acts[l], dPrev, rows * in);
      }
    }
    return true;
  }

  /**
   * Row-wise softmax {@code p_j = e^(z_j - max z) / sum_k e^(z_k - max z)}, computed in double
   * with {@link StrictMath} so that every JVM gives the same bits.
   */
  static void softmaxRowsInPlace(float[] z, int rows, int cols, double[] e) {
    for (int i = 0; i < rows; i++) {
      int row = i * cols;
      float max = Float.NEGATIVE_INFINITY;
      for (int j = 0; j < cols; j++) {
        max = Math.max(max, z[row + j]);
      }
      double sum = 0;
      for (int j = 0; j < cols; j++) {
        e[j] = StrictMath.exp((double) z[row + j] - max);
        sum += e[j];
      }
      for (int j = 0; j < cols; j++) {
        z[row + j] = (float) (e[j] / sum);
      }
    }
  }

  private void checkRows(int rows) {
    if (rows <= 0 || rows > maxBatch) {
      throw new IllegalArgumentException(
          "batch of " + rows + " rows: expected 1.." + maxBatch);
    }
  }
}
