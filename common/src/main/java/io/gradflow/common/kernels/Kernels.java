package io.gradflow.common.kernels;

/** Looks kernels up by the name used on the command line ({@code --kernels}). */
public final class Kernels {
  private Kernels() {}

  /** {@link VectorKernels}' id: a literal, so that reading it loads no Vector API class. */
  public static final String VECTOR_512 = "vector-512";

  /** The default: the fastest deterministic implementation available. */
  public static final String DEFAULT = VECTOR_512;

  /**
   * {@code ejml}, {@code vector-512}, or {@code vector} (an alias for the default species, {@code
   * vector-512}). The vector kernels need the JVM flag {@code --add-modules jdk.incubator.vector},
   * and AVX-512 to be fast (see {@link VectorKernels}).
   * Each call returns a new instance; {@link VectorKernels} is not thread-safe.
   */
  public static DenseKernels byName(String name) {
    return switch (canonicalName(name)) {
      case "ejml" -> new EjmlKernels();
      case VECTOR_512 -> vector();
      default -> throw new AssertionError(name);
    };
  }

  /**
   * The id that {@link #byName} gives for {@code name} ({@code vector} becomes {@code vector-512}):
   * the string to put in a job fingerprint, so that aliases of the same kernels agree.
   *
   * @throws IllegalArgumentException for an unknown name, listing the known ones
   */
  public static String canonicalName(String name) {
    return switch (name) {
      case "ejml" -> "ejml";
      case "vector", VECTOR_512 -> VECTOR_512;
      default ->
          throw new IllegalArgumentException(
              "unknown kernels '" + name + "': expected ejml, vector or " + VECTOR_512);
    };
  }

  private static DenseKernels vector() {
    if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      throw new IllegalStateException(
          "kernels " + VECTOR_512 + " need the Vector API: start the JVM with"
              + " --add-modules jdk.incubator.vector, or use --kernels ejml");
    }
    return new VectorKernels();
  }
}
