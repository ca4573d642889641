package io.gradflow.common.kernels;

/** Looks kernels up by the name used on the command line ({@code --kernels}). */
public final class Kernels {
  private Kernels() {}

  /**
   * {@link VectorKernels}' id at either vector width: a literal, so that reading it loads no Vector
   * API class. The 256- and 512-bit paths give the same bits, so they share this one id (the name
   * the kernels first shipped under, which existing fingerprints and checkpoints carry): a job
   * whose workers differ in vector width is still one job.
   */
  public static final String VECTOR_512 = "vector-512";

  /** An alias of {@link #VECTOR_512}: the same kernels and bits, named by the AVX2 width. */
  public static final String VECTOR_256 = "vector-256";

  /** The default: the fastest deterministic implementation available. */
  public static final String DEFAULT = VECTOR_512;

  /**
   * {@code ejml}, or {@code vector} (also spelled {@code vector-512} or {@code vector-256}: one
   * implementation, whose vector width the machine decides, with the same bits at every width).
   * The vector kernels need the JVM flag {@code --add-modules jdk.incubator.vector}, and AVX2 or
   * AVX-512 to be fast (see {@link VectorKernels}).
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
   * The id that {@link #byName} gives for {@code name} ({@code vector} and {@code vector-256}
   * become {@code vector-512}): the string to put in a job fingerprint, so that aliases of the same
   * kernels agree.
   *
   * @throws IllegalArgumentException for an unknown name, listing the known ones
   */
  public static String canonicalName(String name) {
    return switch (name) {
      case "ejml" -> "ejml";
      case "vector", VECTOR_256, VECTOR_512 -> VECTOR_512;
      default ->
          throw new IllegalArgumentException(
              "unknown kernels '" + name + "': expected ejml, vector, " + VECTOR_256 + " or "
                  + VECTOR_512);
    };
  }

  private static DenseKernels vector() {
    if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      throw new IllegalStateException(
          "the vector kernels need the Vector API: start the JVM with"
              + " --add-modules jdk.incubator.vector, or use --kernels ejml");
    }
    forcedVectorBits(); // a bad value is an IllegalArgumentException here, not a class-init error
    return new VectorKernels();
  }

  /**
   * The vector width that the system property {@link VectorKernels#BITS_PROPERTY} forces: 256 or
   * 512, or 0 when it is not set (reading the constant loads no Vector API class).
   *
   * @throws IllegalArgumentException for any other value
   */
  static int forcedVectorBits() {
    String bits = System.getProperty(VectorKernels.BITS_PROPERTY);
    if (bits == null) {
      return 0;
    }
    return switch (bits.trim()) {
      case "256" -> 256;
      case "512" -> 512;
      default ->
          throw new IllegalArgumentException(
              VectorKernels.BITS_PROPERTY + ": expected 256 or 512, got '" + bits + "'");
    };
  }
}
