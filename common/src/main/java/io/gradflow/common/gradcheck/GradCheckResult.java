package io.gradflow.common.gradcheck;

import java.util.List;

/**
 * The outcome of a {@link GradCheck}: one {@link TensorCheck} per tensor, the settings used and
 * the cost of both methods.
 *
 * @param precision the arithmetic of the finite differences' forward pass
 * @param eps the finite-difference step
 * @param tolerance the largest relative error a tensor may have and pass
 * @param gradientFloor the floor of the relative error's denominator
 * @param loss the mean cross-entropy at the unperturbed weights
 * @param tensors per tensor, in canonical order
 * @param finiteDifferenceForwardPasses forward passes the finite differences used: 2 per parameter
 * @param kinkCheckForwardPasses extra forward passes that looked for ReLU kinks (0 without ReLU, and
 *     in double, whose pass finds them itself)
 */
public record GradCheckResult(
    GradCheck.Precision precision,
    double eps,
    double tolerance,
    double gradientFloor,
    double loss,
    List<TensorCheck> tensors,
    long finiteDifferenceForwardPasses,
    long kinkCheckForwardPasses) {

  public GradCheckResult {
    tensors = List.copyOf(tensors);
  }

  /** Backprop's cost, whatever the number of parameters: one forward pass ... */
  public int backpropForwardPasses() {
    return 1;
  }

  /** ... and one backward pass. */
  public int backpropBackwardPasses() {
    return 1;
  }

  /** True if every tensor passed. */
  public boolean passed() {
    return tensors.stream().allMatch(TensorCheck::passed);
  }

  public long parameterCount() {
    return tensors.stream().mapToLong(TensorCheck::elements).sum();
  }

  /** Elements skipped because a ReLU kink lay within {@code eps}. */
  public long skippedKinks() {
    return tensors.stream().mapToLong(TensorCheck::skippedKinks).sum();
  }

  public double maxRelativeError() {
    return tensors.stream().mapToDouble(TensorCheck::maxRelativeError).max().orElse(0);
  }

  public double maxAbsoluteError() {
    return tensors.stream().mapToDouble(TensorCheck::maxAbsoluteError).max().orElse(0);
  }
}
