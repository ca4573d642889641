package io.gradflow.common.kernels;

/** Looks kernels up by the name used on the command line ({@code --kernels}). */
public final class Kernels {
  private Kernels() {}

  /** The default: the fastest deterministic implementation available. */
  public static final String DEFAULT = "ejml";

  public static DenseKernels byName(String name) {
    return switch (name) {
      case "ejml" -> new EjmlKernels();
      default ->
          throw new IllegalArgumentException(
              "unknown kernels '" + name + "': expected ejml");
    };
  }
}
