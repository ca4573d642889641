package io.gradflow.common.gradcheck;

/**
 * The gradient check of one tensor ({@code layer0.W}, ...).
 *
 * @param name tensor name in {@link io.gradflow.common.model.Network}'s canonical order
 * @param shape {@code [out, in]} for W, {@code [out]} for b
 * @param elements number of elements
 * @param checked elements compared ({@code elements - skippedKinks})
 * @param skippedKinks elements whose {@code +-eps} step moved a ReLU pre-activation across 0
 * @param maxRelativeError {@code max |a - n| / max(|a| + |n|, floor)} over the checked elements
 * @param maxAbsoluteError {@code max |a - n|} over the checked elements
 * @param worstIndex element with the largest relative error ({@code -1} if none was checked)
 * @param worstBackprop backprop's gradient {@code a} at {@code worstIndex}
 * @param worstNumeric the central difference {@code n} at {@code worstIndex}
 * @param passed {@code maxRelativeError <= tolerance}
 */
public record TensorCheck(
    String name,
    long[] shape,
    int elements,
    int checked,
    int skippedKinks,
    double maxRelativeError,
    double maxAbsoluteError,
    int worstIndex,
    double worstBackprop,
    double worstNumeric,
    boolean passed) {

  public TensorCheck {
    shape = shape.clone();
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** {@code 6x7} for a matrix, {@code 6} for a vector. */
  public String shapeText() {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < shape.length; i++) {
      sb.append(i > 0 ? "x" : "").append(shape[i]);
    }
    return sb.toString();
  }
}
