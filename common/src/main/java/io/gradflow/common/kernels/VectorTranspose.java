package io.gradflow.common.kernels;

import static io.gradflow.common.kernels.VectorGeometry.L;
import static io.gradflow.common.kernels.VectorGeometry.SPECIES;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;

/**
 * The register transposes that {@link VectorKernels} packs its operands with ({@code X^T}, {@code
 * W^T}, {@code dZ^T}) and turns {@code Z^T} back into {@code Z} with: L x L blocks (L = lanes) in
 * registers by block swaps, {@code log2 L} stages of shuffles and blends, the edges one float at a
 * time. A transpose only moves floats, so it changes no bit.
 */
final class VectorTranspose {
  private VectorTranspose() {}

  /**
   * {@code dst[dOff + c * ldd + r] = src[sOff + r * lds + c]} for {@code r < rows}, {@code c <
   * cols}: L x L blocks in registers, the edges one float at a time.
   */
  static void transpose(
      float[] src, int sOff, int lds, int rows, int cols, float[] dst, int dOff, int ldd) {
    int rL = rows - rows % L;
    int cL = cols - cols % L;
    for (int r = 0; r < rL; r += L) {
      for (int c = 0; c < cL; c += L) {
        if (L == 16) {
          transpose16(src, sOff + r * lds + c, lds, dst, dOff + c * ldd + r, ldd);
        } else {
          transpose8(src, sOff + r * lds + c, lds, dst, dOff + c * ldd + r, ldd);
        }
      }
    }
    for (int c = cL; c < cols; c++) {
      for (int r = 0; r < rL; r++) {
        dst[dOff + c * ldd + r] = src[sOff + r * lds + c];
      }
    }
    for (int c = 0; c < cols; c++) {
      for (int r = rL; r < rows; r++) {
        dst[dOff + c * ldd + r] = src[sOff + r * lds + c];
      }
    }
  }

  // Shuffles and masks of the block-swap transpose: stage d swaps the off-diagonal d x d blocks.
  private static final VectorShuffle<Float> UP8 = shift(-8);
  private static final VectorShuffle<Float> UP4 = shift(-4);
  private static final VectorShuffle<Float> UP2 = shift(-2);
  private static final VectorShuffle<Float> UP1 = shift(-1);
  private static final VectorShuffle<Float> DOWN8 = shift(8);
  private static final VectorShuffle<Float> DOWN4 = shift(4);
  private static final VectorShuffle<Float> DOWN2 = shift(2);
  private static final VectorShuffle<Float> DOWN1 = shift(1);
  private static final VectorMask<Float> HI8 = bitSet(8);
  private static final VectorMask<Float> HI4 = bitSet(4);
  private static final VectorMask<Float> HI2 = bitSet(2);
  private static final VectorMask<Float> HI1 = bitSet(1);

  /** Lane {@code l} takes lane {@code l + by} (mod L). */
  private static VectorShuffle<Float> shift(int by) {
    return VectorShuffle.fromOp(SPECIES, l -> Math.floorMod(l + by, L));
  }

  /** Lanes whose index has bit {@code bit} set. */
  private static VectorMask<Float> bitSet(int bit) {
    boolean[] m = new boolean[L];
    for (int l = 0; l < L; l++) {
      m[l] = (l & bit) != 0;
    }
    return VectorMask.fromArray(SPECIES, m, 0);
  }

  /**
   * Transposes one 8 x 8 block with 8-lane vectors, the last three stages of {@link #transpose16}.
   */
  private static void transpose8(float[] src, int s, int lds, float[] dst, int d, int ldd) {
    FloatVector v0 = FloatVector.fromArray(SPECIES, src, s);
    FloatVector v1 = FloatVector.fromArray(SPECIES, src, s + 1 * lds);
    FloatVector v2 = FloatVector.fromArray(SPECIES, src, s + 2 * lds);
    FloatVector v3 = FloatVector.fromArray(SPECIES, src, s + 3 * lds);
    FloatVector v4 = FloatVector.fromArray(SPECIES, src, s + 4 * lds);
    FloatVector v5 = FloatVector.fromArray(SPECIES, src, s + 5 * lds);
    FloatVector v6 = FloatVector.fromArray(SPECIES, src, s + 6 * lds);
    FloatVector v7 = FloatVector.fromArray(SPECIES, src, s + 7 * lds);
    FloatVector t;
    t = v0.blend(v4.rearrange(UP4), HI4);
    v4 = v0.rearrange(DOWN4).blend(v4, HI4);
    v0 = t;
    t = v1.blend(v5.rearrange(UP4), HI4);
    v5 = v1.rearrange(DOWN4).blend(v5, HI4);
    v1 = t;
    t = v2.blend(v6.rearrange(UP4), HI4);
    v6 = v2.rearrange(DOWN4).blend(v6, HI4);
    v2 = t;
    t = v3.blend(v7.rearrange(UP4), HI4);
    v7 = v3.rearrange(DOWN4).blend(v7, HI4);
    v3 = t;
    t = v0.blend(v2.rearrange(UP2), HI2);
    v2 = v0.rearrange(DOWN2).blend(v2, HI2);
    v0 = t;
    t = v1.blend(v3.rearrange(UP2), HI2);
    v3 = v1.rearrange(DOWN2).blend(v3, HI2);
    v1 = t;
    t = v4.blend(v6.rearrange(UP2), HI2);
    v6 = v4.rearrange(DOWN2).blend(v6, HI2);
    v4 = t;
    t = v5.blend(v7.rearrange(UP2), HI2);
    v7 = v5.rearrange(DOWN2).blend(v7, HI2);
    v5 = t;
    t = v0.blend(v1.rearrange(UP1), HI1);
    v1 = v0.rearrange(DOWN1).blend(v1, HI1);
    v0 = t;
    t = v2.blend(v3.rearrange(UP1), HI1);
    v3 = v2.rearrange(DOWN1).blend(v3, HI1);
    v2 = t;
    t = v4.blend(v5.rearrange(UP1), HI1);
    v5 = v4.rearrange(DOWN1).blend(v5, HI1);
    v4 = t;
    t = v6.blend(v7.rearrange(UP1), HI1);
    v7 = v6.rearrange(DOWN1).blend(v7, HI1);
    v6 = t;
    v0.intoArray(dst, d);
    v1.intoArray(dst, d + 1 * ldd);
    v2.intoArray(dst, d + 2 * ldd);
    v3.intoArray(dst, d + 3 * ldd);
    v4.intoArray(dst, d + 4 * ldd);
    v5.intoArray(dst, d + 5 * ldd);
    v6.intoArray(dst, d + 6 * ldd);
    v7.intoArray(dst, d + 7 * ldd);
  }

  /** Transposes one 16 x 16 block: {@code dst[c * ldd + r] = src[r * lds + c]}, in registers. */
  private static void transpose16(float[] src, int s, int lds, float[] dst, int d, int ldd) {
    FloatVector v0 = FloatVector.fromArray(SPECIES, src, s);
    FloatVector v1 = FloatVector.fromArray(SPECIES, src, s + 1 * lds);
    FloatVector v2 = FloatVector.fromArray(SPECIES, src, s + 2 * lds);
    FloatVector v3 = FloatVector.fromArray(SPECIES, src, s + 3 * lds);
    FloatVector v4 = FloatVector.fromArray(SPECIES, src, s + 4 * lds);
    FloatVector v5 = FloatVector.fromArray(SPECIES, src, s + 5 * lds);
    FloatVector v6 = FloatVector.fromArray(SPECIES, src, s + 6 * lds);
    FloatVector v7 = FloatVector.fromArray(SPECIES, src, s + 7 * lds);
    FloatVector v8 = FloatVector.fromArray(SPECIES, src, s + 8 * lds);
    FloatVector v9 = FloatVector.fromArray(SPECIES, src, s + 9 * lds);
    FloatVector v10 = FloatVector.fromArray(SPECIES, src, s + 10 * lds);
    FloatVector v11 = FloatVector.fromArray(SPECIES, src, s + 11 * lds);
    FloatVector v12 = FloatVector.fromArray(SPECIES, src, s + 12 * lds);
    FloatVector v13 = FloatVector.fromArray(SPECIES, src, s + 13 * lds);
    FloatVector v14 = FloatVector.fromArray(SPECIES, src, s + 14 * lds);
    FloatVector v15 = FloatVector.fromArray(SPECIES, src, s + 15 * lds);
    FloatVector t;
    t = v0.blend(v8.rearrange(UP8), HI8);
    v8 = v0.rearrange(DOWN8).blend(v8, HI8);
    v0 = t;
    t = v1.blend(v9.rearrange(UP8), HI8);
    v9 = v1.rearrange(DOWN8).blend(v9, HI8);
    v1 = t;
    t = v2.blend(v10.rearrange(UP8), HI8);
    v10 = v2.rearrange(DOWN8).blend(v10, HI8);
    v2 = t;
    t = v3.blend(v11.rearrange(UP8), HI8);
    v11 = v3.rearrange(DOWN8).blend(v11, HI8);
    v3 = t;
    t = v4.blend(v12.rearrange(UP8), HI8);
    v12 = v4.rearrange(DOWN8).blend(v12, HI8);
    v4 = t;
    t = v5.blend(v13.rearrange(UP8), HI8);
    v13 = v5.rearrange(DOWN8).blend(v13, HI8);
    v5 = t;
    t = v6.blend(v14.rearrange(UP8), HI8);
    v14 = v6.rearrange(DOWN8).blend(v14, HI8);
    v6 = t;
    t = v7.blend(v15.rearrange(UP8), HI8);
    v15 = v7.rearrange(DOWN8).blend(v15, HI8);
    v7 = t;
    t = v0.blend(v4.rearrange(UP4), HI4);
    v4 = v0.rearrange(DOWN4).blend(v4, HI4);
    v0 = t;
    t = v1.blend(v5.rearrange(UP4), HI4);
    v5 = v1.rearrange(DOWN4).blend(v5, HI4);
    v1 = t;
    t = v2.blend(v6.rearrange(UP4), HI4);
    v6 = v2.rearrange(DOWN4).blend(v6, HI4);
    v2 = t;
    t = v3.blend(v7.rearrange(UP4), HI4);
    v7 = v3.rearrange(DOWN4).blend(v7, HI4);
    v3 = t;
    t = v8.blend(v12.rearrange(UP4), HI4);
    v12 = v8.rearrange(DOWN4).blend(v12, HI4);
    v8 = t;
    t = v9.blend(v13.rearrange(UP4), HI4);
    v13 = v9.rearrange(DOWN4).blend(v13, HI4);
    v9 = t;
    t = v10.blend(v14.rearrange(UP4), HI4);
    v14 = v10.rearrange(DOWN4).blend(v14, HI4);
    v10 = t;
    t = v11.blend(v15.rearrange(UP4), HI4);
    v15 = v11.rearrange(DOWN4).blend(v15, HI4);
    v11 = t;
    t = v0.blend(v2.rearrange(UP2), HI2);
    v2 = v0.rearrange(DOWN2).blend(v2, HI2);
    v0 = t;
    t = v1.blend(v3.rearrange(UP2), HI2);
    v3 = v1.rearrange(DOWN2).blend(v3, HI2);
    v1 = t;
    t = v4.blend(v6.rearrange(UP2), HI2);
    v6 = v4.rearrange(DOWN2).blend(v6, HI2);
    v4 = t;
    t = v5.blend(v7.rearrange(UP2), HI2);
    v7 = v5.rearrange(DOWN2).blend(v7, HI2);
    v5 = t;
    t = v8.blend(v10.rearrange(UP2), HI2);
    v10 = v8.rearrange(DOWN2).blend(v10, HI2);
    v8 = t;
    t = v9.blend(v11.rearrange(UP2), HI2);
    v11 = v9.rearrange(DOWN2).blend(v11, HI2);
    v9 = t;
    t = v12.blend(v14.rearrange(UP2), HI2);
    v14 = v12.rearrange(DOWN2).blend(v14, HI2);
    v12 = t;
    t = v13.blend(v15.rearrange(UP2), HI2);
    v15 = v13.rearrange(DOWN2).blend(v15, HI2);
    v13 = t;
    t = v0.blend(v1.rearrange(UP1), HI1);
    v1 = v0.rearrange(DOWN1).blend(v1, HI1);
    v0 = t;
    t = v2.blend(v3.rearrange(UP1), HI1);
    v3 = v2.rearrange(DOWN1).blend(v3, HI1);
    v2 = t;
    t = v4.blend(v5.rearrange(UP1), HI1);
    v5 = v4.rearrange(DOWN1).blend(v5, HI1);
    v4 = t;
    t = v6.blend(v7.rearrange(UP1), HI1);
    v7 = v6.rearrange(DOWN1).blend(v7, HI1);
    v6 = t;
    t = v8.blend(v9.rearrange(UP1), HI1);
    v9 = v8.rearrange(DOWN1).blend(v9, HI1);
    v8 = t;
    t = v10.blend(v11.rearrange(UP1), HI1);
    v11 = v10.rearrange(DOWN1).blend(v11, HI1);
    v10 = t;
    t = v12.blend(v13.rearrange(UP1), HI1);
    v13 = v12.rearrange(DOWN1).blend(v13, HI1);
    v12 = t;
    t = v14.blend(v15.rearrange(UP1), HI1);
    v15 = v14.rearrange(DOWN1).blend(v15, HI1);
    v14 = t;
    v0.intoArray(dst, d);
    v1.intoArray(dst, d + 1 * ldd);
    v2.intoArray(dst, d + 2 * ldd);
    v3.intoArray(dst, d + 3 * ldd);
    v4.intoArray(dst, d + 4 * ldd);
    v5.intoArray(dst, d + 5 * ldd);
    v6.intoArray(dst, d + 6 * ldd);
    v7.intoArray(dst, d + 7 * ldd);
    v8.intoArray(dst, d + 8 * ldd);
    v9.intoArray(dst, d + 9 * ldd);
    v10.intoArray(dst, d + 10 * ldd);
    v11.intoArray(dst, d + 11 * ldd);
    v12.intoArray(dst, d + 12 * ldd);
    v13.intoArray(dst, d + 13 * ldd);
    v14.intoArray(dst, d + 14 * ldd);
    v15.intoArray(dst, d + 15 * ldd);
  }
}
