package io.gradflow.common.kernels;

import io.gradflow.common.model.Activation;

/**
 * The three products of a dense layer on row-major float arrays. They are the whole cost of
 * training. The caller owns every output buffer. Implementations must be deterministic: the same
 * inputs give the same bits, whatever the thread count, because the distributed equality
 * guarantee rests on it.
 *
 * <p>Shapes: {@code X} is {@code B x in}, {@code W} is {@code out x in}, {@code Z} and {@code dZ}
 * are {@code B x out}.
 */
public interface DenseKernels {

  /** Identifier written into the job fingerprint: different kernels give different bits. */
  String id();

  /** Forward: {@code Z = X W^T + 1 b^T}. */
  void forward(float[] x, float[] w, float[] b, float[] z, int batch, int in, int out);

  /** Weight gradient: {@code dW = dZ^T X} ({@code out x in}), overwriting {@code dw}. */
  void weightGradient(float[] dz, float[] x, float[] dw, int batch, int in, int out);

  /** Input gradient: {@code dX = dZ W} ({@code B x in}), overwriting {@code dx}. */
  void inputGradient(float[] dz, float[] w, float[] dx, int batch, int in, int out);

  /** Bias gradient: {@code db_j = sum_i dZ_ij} (column sums), summed in row order. */
  default void biasGradient(float[] dz, float[] db, int batch, int out) {
    java.util.Arrays.fill(db, 0, out, 0f);
    for (int i = 0; i < batch; i++) {
      int row = i * out;
      for (int j = 0; j < out; j++) {
        db[j] += dz[row + j];
      }
    }
  }

  /** {@code v_k = f(v_k)} for {@code k < n}, in place: exactly {@link Activation#apply}. */
  default void activate(Activation f, float[] v, int n) {
    f.applyInPlace(v, 0, n);
  }

  /**
   * {@code d_k = d_k * f'(a_k)} for {@code k < n}, with the derivative written through the output
   * {@code a = f(z)}: exactly {@link Activation#derivativeFromOutput}, then one float multiply.
   */
  default void activationGradient(Activation f, float[] a, float[] d, int n) {
    for (int k = 0; k < n; k++) {
      d[k] *= f.derivativeFromOutput(a[k]);
    }
  }

  /**
   * Whether {@link #addSegmentGradientsFixed} is available. Implementations that say yes also
   * promise that every product computes a row's outputs from that row alone, with the same bits
   * whatever else the batch holds: then a batch of several micro-shards can run forward and
   * backward in one pass and give each micro-shard the bits it would get on its own.
   */
  default boolean segmentsFixed() {
    return false;
  }

  /**
   * The weight and bias gradients of consecutive row segments, each rounded to fixed point and
   * added to the sums: for segment {@code s}, rows {@code [starts[s], starts[s+1])},
   * {@code dW_s = dZ_s^T X_s} and {@code db_s = colsum(dZ_s)} are computed exactly as {@link
   * #weightGradient} and {@link #biasGradient} compute them for those rows alone, then
   * {@code dwSum[j*in+k] += round(dW_s[j][k] * 2^40)} and {@code dbSum[j] += round(db_s[j] *
   * 2^40)}, ties to even (see {@code FixedPoint}). With {@code overwrite} the sums' old content is
   * ignored, as if they held zeros ({@code dwSum[j*in+k] = sum_s round(...)}): a caller whose sums
   * count as zero ({@code ExactGradientSum#isSpent}) saves a pass that would clear them first.
   *
   * @return false when an element of some segment is NaN, infinite or not below {@code 2^11} in
   *     magnitude; the sums then hold a partial result and must be discarded
   */
  default boolean addSegmentGradientsFixed(
      float[] dz, float[] x, int[] starts, int segments, int in, int out, long[] dwSum, long[] dbSum,
      boolean overwrite) {
    throw new UnsupportedOperationException(id() + " has no fixed-point segment gradients");
  }
}
