package io.gradflow.common.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * What the classes of the fast path ({@link VectorKernels}) share, in one place: the float
 * species they all compute with, its lane count, the micro-kernel tile, the cache block of the
 * shared dimension, and the growth of their scratch buffers. All {@code static final}, so the JIT
 * folds them into the kernels.
 */
final class VectorGeometry {
  private VectorGeometry() {}

  /**
   * Chosen once, at class initialisation (a {@code static final}, so the JIT folds it): {@link
   * VectorKernels#BITS_PROPERTY} when set, else 512 bits where the JIT's preferred species has at
   * least 16 float lanes (AVX-512), else 256 bits (8 lanes). The kernels need 8 or 16 lanes, so a
   * machine with narrower vectors or none also gets 256 bits: the same bits, on the slow fallback.
   */
  static final VectorSpecies<Float> SPECIES = species(Kernels.forcedVectorBits());
  /** Float lanes per vector: 16 or 8. */
  static final int L = SPECIES.length();
  /** Rows of C per micro-kernel tile. */
  static final int MR = 6;
  /**
   * Vectors of C per micro-kernel tile row: 4 with 16 lanes (AVX-512 has 32 vector registers for
   * the 24 accumulators, 4 loads and a broadcast), 2 with 8 lanes (AVX2 has 16 registers: 12
   * accumulators, 2 loads, a broadcast).
   */
  static final int NR = L >= 16 ? 4 : 2;
  /** Steps of the shared dimension per cache block. */
  static final int KC = 256;

  /** {@code buf} when it holds {@code size} floats, else a new array of that size. */
  static float[] grow(float[] buf, long size) {
    if (size > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("scratch of " + size + " floats is too large");
    }
    return buf.length >= size ? buf : new float[(int) size];
  }

  /** {@code forced} bits (256 or 512), or by the preferred species when {@code forced} is 0. */
  private static VectorSpecies<Float> species(int forced) {
    if (forced == 0) {
      forced = FloatVector.SPECIES_PREFERRED.length() >= 16 ? 512 : 256;
    }
    return forced == 512 ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
  }
}
