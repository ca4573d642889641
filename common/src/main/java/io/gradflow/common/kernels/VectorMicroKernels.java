package io.gradflow.common.kernels;

import static io.gradflow.common.kernels.VectorGeometry.L;
import static io.gradflow.common.kernels.VectorGeometry.SPECIES;

import jdk.incubator.vector.FloatVector;

/**
 * The GEMM micro-kernels: {@code C = C (or 0) + A B} on a tile of C held in registers, 6 rows by
 * 4, 2 or 1 vectors, and single rows by 4 or 1 vectors. Per step {@code p} of the shared
 * dimension each kernel broadcasts {@code A[r][p]} and multiply-adds it into the vectors of row
 * {@code p} of B, so every element of the tile is one chain of fused multiply-adds in order of
 * {@code p}, whichever kernel computes it. Which kernel takes which part of C is {@link
 * VectorGemm}'s.
 */
final class VectorMicroKernels {
  /** Read instead of C when a kernel starts from zero (never written). */
  private static final float[] ZEROS = new float[4 * L];

  private VectorMicroKernels() {}

  /**
   * A 6-row by 4-vector tile: {@code C[r][0..4L) = C (or 0 when !load) + sum_p A[r][p] B[p][..]},
   * one fma per step p, in order. Rows at or past {@code rows} are clamped onto row {@code rows - 1}:
   * they recompute it and store the same bits to the same place.
   */
  static void kernel6x4(
      float[] a, int aOff, int lda, int rows, int k,
      float[] b, int bOff, int ldb,
      float[] c, int cOff, int ldc, boolean load) {
    int last = rows - 1;
    float[] ci = load ? c : ZEROS; // a zero start without a vector-valued branch
    int a0 = aOff;
    int a1 = aOff + Math.min(1, last) * lda;
    int a2 = aOff + Math.min(2, last) * lda;
    int a3 = aOff + Math.min(3, last) * lda;
    int a4 = aOff + Math.min(4, last) * lda;
    int a5 = aOff + Math.min(5, last) * lda;
    int c0 = cOff;
    int c1 = cOff + Math.min(1, last) * ldc;
    int c2 = cOff + Math.min(2, last) * ldc;
    int c3 = cOff + Math.min(3, last) * ldc;
    int c4 = cOff + Math.min(4, last) * ldc;
    int c5 = cOff + Math.min(5, last) * ldc;
    FloatVector s00 = FloatVector.fromArray(SPECIES, ci, (load ? c0 : 0));
    FloatVector s01 = FloatVector.fromArray(SPECIES, ci, (load ? c0 : 0) + L);
    FloatVector s02 = FloatVector.fromArray(SPECIES, ci, (load ? c0 : 0) + 2 * L);
    FloatVector s03 = FloatVector.fromArray(SPECIES, ci, (load ? c0 : 0) + 3 * L);
    FloatVector s10 = FloatVector.fromArray(SPECIES, ci, (load ? c1 : 0));
    FloatVector s11 = FloatVector.fromArray(SPECIES, ci, (load ? c1 : 0) + L);
    FloatVector s12 = FloatVector.fromArray(SPECIES, ci, (load ? c1 : 0) + 2 * L);
    FloatVector s13 = FloatVector.fromArray(SPECIES, ci, (load ? c1 : 0) + 3 * L);
    FloatVector s20 = FloatVector.fromArray(SPECIES, ci, (load ? c2 : 0));
    FloatVector s21 = FloatVector.fromArray(SPECIES, ci, (load ? c2 : 0) + L);
    FloatVector s22 = FloatVector.fromArray(SPECIES, ci, (load ? c2 : 0) + 2 * L);
    FloatVector s23 = FloatVector.fromArray(SPECIES, ci, (load ? c2 : 0) + 3 * L);
    FloatVector s30 = FloatVector.fromArray(SPECIES, ci, (load ? c3 : 0));
    FloatVector s31 = FloatVector.fromArray(SPECIES, ci, (load ? c3 : 0) + L);
    FloatVector s32 = FloatVector.fromArray(SPECIES, ci, (load ? c3 : 0) + 2 * L);
    FloatVector s33 = FloatVector.fromArray(SPECIES, ci, (load ? c3 : 0) + 3 * L);
    FloatVector s40 = FloatVector.fromArray(SPECIES, ci, (load ? c4 : 0));
    FloatVector s41 = FloatVector.fromArray(SPECIES, ci, (load ? c4 : 0) + L);
    FloatVector s42 = FloatVector.fromArray(SPECIES, ci, (load ? c4 : 0) + 2 * L);
    FloatVector s43 = FloatVector.fromArray(SPECIES, ci, (load ? c4 : 0) + 3 * L);
    FloatVector s50 = FloatVector.fromArray(SPECIES, ci, (load ? c5 : 0));
    FloatVector s51 = FloatVector.fromArray(SPECIES, ci, (load ? c5 : 0) + L);
    FloatVector s52 = FloatVector.fromArray(SPECIES, ci, (load ? c5 : 0) + 2 * L);
    FloatVector s53 = FloatVector.fromArray(SPECIES, ci, (load ? c5 : 0) + 3 * L);
    for (int p = 0, bp = bOff; p < k; p++, bp += ldb) {
      FloatVector b0 = FloatVector.fromArray(SPECIES, b, bp);
      FloatVector b1 = FloatVector.fromArray(SPECIES, b, bp + L);
      FloatVector b2 = FloatVector.fromArray(SPECIES, b, bp + 2 * L);
      FloatVector b3 = FloatVector.fromArray(SPECIES, b, bp + 3 * L);
      FloatVector av = FloatVector.broadcast(SPECIES, a[a0 + p]);
      s00 = av.fma(b0, s00);
      s01 = av.fma(b1, s01);
      s02 = av.fma(b2, s02);
      s03 = av.fma(b3, s03);
      av = FloatVector.broadcast(SPECIES, a[a1 + p]);
      s10 = av.fma(b0, s10);
      s11 = av.fma(b1, s11);
      s12 = av.fma(b2, s12);
      s13 = av.fma(b3, s13);
      av = FloatVector.broadcast(SPECIES, a[a2 + p]);
      s20 = av.fma(b0, s20);
      s21 = av.fma(b1, s21);
      s22 = av.fma(b2, s22);
      s23 = av.fma(b3, s23);
      av = FloatVector.broadcast(SPECIES, a[a3 + p]);
      s30 = av.fma(b0, s30);
      s31 = av.fma(b1, s31);
      s32 = av.fma(b2, s32);
      s33 = av.fma(b3, s33);
      av = FloatVector.broadcast(SPECIES, a[a4 + p]);
      s40 = av.fma(b0, s40);
      s41 = av.fma(b1, s41);
      s42 = av.fma(b2, s42);
      s43 = av.fma(b3, s43);
      av = FloatVector.broadcast(SPECIES, a[a5 + p]);
      s50 = av.fma(b0, s50);
      s51 = av.fma(b1, s51);
      s52 = av.fma(b2, s52);
      s53 = av.fma(b3, s53);
    }
    s50.intoArray(c, c5);
    s51.intoArray(c, c5 + L);
    s52.intoArray(c, c5 + 2 * L);
    s53.intoArray(c, c5 + 3 * L);
    s40.intoArray(c, c4);
    s41.intoArray(c, c4 + L);
    s42.intoArray(c, c4 + 2 * L);
    s43.intoArray(c, c4 + 3 * L);
    s30.intoArray(c, c3);
    s31.intoArray(c, c3 + L);
    s32.intoArray(c, c3 + 2 * L);
    s33.intoArray(c, c3 + 3 * L);
    s20.intoArray(c, c2);
    s21.intoArray(c, c2 + L);
    s22.intoArray(c, c2 + 2 * L);
    s23.intoArray(c, c2 + 3 * L);
    s10.intoArray(c, c1);
    s11.intoArray(c, c1 + L);
    s12.intoArray(c, c1 + 2 * L);
    s13.intoArray(c, c1 + 3 * L);
    s00.intoArray(c, c0);
    s01.intoArray(c, c0 + L);
    s02.intoArray(c, c0 + 2 * L);
    s03.intoArray(c, c0 + 3 * L);
  }

  /**
   * A 6-row by 2-vector tile: {@code C[r][0..2L) = C (or 0 when !load) + sum_p A[r][p] B[p][..]},
   * one fma per step p, in order. Rows at or past {@code rows} are clamped onto row {@code rows - 1}:
   * they recompute it and store the same bits to the same place.
   */
  static void kernel6x2(
      float[] a, int aOff, int lda, int rows, int k,
      float[] b, int bOff, int ldb,
      float[] c, int cOff, int ldc, boolean load) {
    int last = rows - 1;
    float[] ci = load ? c : ZEROS; // a zero start without a vector-valued branch
    int a0 = aOff;
    int a1 = aOff + Math.min(1, last) * lda;
    int a2 = aOff + Math.min(2, last) * lda;
    int a3 = aOff + Math.min(3, last) * lda;
    int a4 = aOff + Math.min(4, last) * lda;
    int a5 = aOff + Math.min(5, last) * lda;
    int c0 = cOff;
    int c1 = cOff + Math.min(1, last) * ldc;
    int c2 = cOff + Math.min(2, last) * ldc;
    int c3 = cOff + Math.min(3, last) * ldc;
    int c4 = cOff + Math.min(4, last) * ldc;
    int c5 = cOff + Math.min(5, last) * ldc;
    FloatVector s00 = FloatVector.fromArray(SPECIES, ci, (load ? c0 : 0));
    FloatVector s01 = FloatVector.fromArray(SPECIES, ci, (load ? c0 : 0) + L);
    FloatVector s10 = FloatVector.fromArray(SPECIES, ci, (load ? c1 : 0));
    FloatVector s11 = FloatVector.fromArray(SPECIES, ci, (load ? c1 : 0) + L);
    FloatVector s20 = FloatVector.fromArray(SPECIES, ci, (load ? c2 : 0));
    FloatVector s21 = FloatVector.fromArray(SPECIES, ci, (load ? c2 : 0) + L);
    FloatVector s30 = FloatVector.fromArray(SPECIES, ci, (load ? c3 : 0));
    FloatVector s31 = FloatVector.fromArray(SPECIES, ci, (load ? c3 : 0) + L);
    FloatVector s40 = FloatVector.fromArray(SPECIES, ci, (load ? c4 : 0));
    FloatVector s41 = FloatVector.fromArray(SPECIES, ci, (load ? c4 : 0) + L);
    FloatVector s50 = FloatVector.fromArray(SPECIES, ci, (load ? c5 : 0));
    FloatVector s51 = FloatVector.fromArray(SPECIES, ci, (load ? c5 : 0) + L);
    for (int p = 0, bp = bOff; p < k; p++, bp += ldb) {
      FloatVector b0 = FloatVector.fromArray(SPECIES, b, bp);
      FloatVector b1 = FloatVector.fromArray(SPECIES, b, bp + L);
      FloatVector av = FloatVector.broadcast(SPECIES, a[a0 + p]);
      s00 = av.fma(b0, s00);
      s01 = av.fma(b1, s01);
      av = FloatVector.broadcast(SPECIES, a[a1 + p]);
      s10 = av.fma(b0, s10);
      s11 = av.fma(b1, s11);
      av = FloatVector.broadcast(SPECIES, a[a2 + p]);
      s20 = av.fma(b0, s20);
      s21 = av.fma(b1, s21);
      av = FloatVector.broadcast(SPECIES, a[a3 + p]);
      s30 = av.fma(b0, s30);
      s31 = av.fma(b1, s31);
      av = FloatVector.broadcast(SPECIES, a[a4 + p]);
      s40 = av.fma(b0, s40);
      s41 = av.fma(b1, s41);
      av = FloatVector.broadcast(SPECIES, a[a5 + p]);
      s50 = av.fma(b0, s50);
      s51 = av.fma(b1, s51);
    }
    s50.intoArray(c, c5);
    s51.intoArray(c, c5 + L);
    s40.intoArray(c, c4);
    s41.intoArray(c, c4 + L);
    s30.intoArray(c, c3);
    s31.intoArray(c, c3 + L);
    s20.intoArray(c, c2);
    s21.intoArray(c, c2 + L);
    s10.intoArray(c, c1);
    s11.intoArray(c, c1 + L);
    s00.intoArray(c, c0);
    s01.intoArray(c, c0 + L);
  }

  /**
   * A 6-row by 1-vector tile: {@code C[r][0..1L) = C (or 0 when !load) + sum_p A[r][p] B[p][..]},
   * one fma per step p, in order. Rows at or past {@code rows} are clamped onto row {@code rows - 1}:
   * they recompute it and store the same bits to the same place.
   */
  static void kernel6x1(
      float[] a, int aOff, int lda, int rows, int k,
      float[] b, int bOff, int ldb,
      float[] c, int cOff, int ldc, boolean load) {
    int last = rows - 1;
    float[] ci = load ? c : ZEROS; // a zero start without a vector-valued branch
    int a0 = aOff;
    int a1 = aOff + Math.min(1, last) * lda;
    int a2 = aOff + Math.min(2, last) * lda;
    int a3 = aOff + Math.min(3, last) * lda;
    int a4 = aOff + Math.min(4, last) * lda;
    int a5 = aOff + Math.min(5, last) * lda;
    int c0 = cOff;
    int c1 = cOff + Math.min(1, last) * ldc;
    int c2 = cOff + Math.min(2, last) * ldc;
    int c3 = cOff + Math.min(3, last) * ldc;
    int c4 = cOff + Math.min(4, last) * ldc;
    int c5 = cOff + Math.min(5, last) * ldc;
    FloatVector s00 = FloatVector.fromArray(SPECIES, ci, (load ? c0 : 0));
    FloatVector s10 = FloatVector.fromArray(SPECIES, ci, (load ? c1 : 0));
    FloatVector s20 = FloatVector.fromArray(SPECIES, ci, (load ? c2 : 0));
    FloatVector s30 = FloatVector.fromArray(SPECIES, ci, (load ? c3 : 0));
    FloatVector s40 = FloatVector.fromArray(SPECIES, ci, (load ? c4 : 0));
    FloatVector s50 = FloatVector.fromArray(SPECIES, ci, (load ? c5 : 0));
    for (int p = 0, bp = bOff; p < k; p++, bp += ldb) {
      FloatVector b0 = FloatVector.fromArray(SPECIES, b, bp);
      FloatVector av = FloatVector.broadcast(SPECIES, a[a0 + p]);
      s00 = av.fma(b0, s00);
      av = FloatVector.broadcast(SPECIES, a[a1 + p]);
      s10 = av.fma(b0, s10);
      av = FloatVector.broadcast(SPECIES, a[a2 + p]);
      s20 = av.fma(b0, s20);
      av = FloatVector.broadcast(SPECIES, a[a3 + p]);
      s30 = av.fma(b0, s30);
      av = FloatVector.broadcast(SPECIES, a[a4 + p]);
      s40 = av.fma(b0, s40);
      av = FloatVector.broadcast(SPECIES, a[a5 + p]);
      s50 = av.fma(b0, s50);
    }
    s50.intoArray(c, c5);
    s40.intoArray(c, c4);
    s30.intoArray(c, c3);
    s20.intoArray(c, c2);
    s10.intoArray(c, c1);
    s00.intoArray(c, c0);
  }

  /** One row by 4 vectors: the same chain per element as the tiles. */
  static void kernel1x4(
      float[] a, int aOff, int k, float[] b, int bOff, int ldb, float[] c, int cOff, boolean load) {
    float[] ci = load ? c : ZEROS;
    int ci0 = load ? cOff : 0;
    FloatVector s0 = FloatVector.fromArray(SPECIES, ci, ci0);
    FloatVector s1 = FloatVector.fromArray(SPECIES, ci, ci0 + L);
    FloatVector s2 = FloatVector.fromArray(SPECIES, ci, ci0 + 2 * L);
    FloatVector s3 = FloatVector.fromArray(SPECIES, ci, ci0 + 3 * L);
    for (int p = 0, bp = bOff; p < k; p++, bp += ldb) {
      FloatVector av = FloatVector.broadcast(SPECIES, a[aOff + p]);
      s0 = av.fma(FloatVector.fromArray(SPECIES, b, bp), s0);
      s1 = av.fma(FloatVector.fromArray(SPECIES, b, bp + L), s1);
      s2 = av.fma(FloatVector.fromArray(SPECIES, b, bp + 2 * L), s2);
      s3 = av.fma(FloatVector.fromArray(SPECIES, b, bp + 3 * L), s3);
    }
    s0.intoArray(c, cOff);
    s1.intoArray(c, cOff + L);
    s2.intoArray(c, cOff + 2 * L);
    s3.intoArray(c, cOff + 3 * L);
  }

  /** One row by 1 vector: the same chain per element as the tiles. */
  static void kernel1x1(
      float[] a, int aOff, int k, float[] b, int bOff, int ldb, float[] c, int cOff, boolean load) {
    float[] ci = load ? c : ZEROS;
    int ci0 = load ? cOff : 0;
    FloatVector s0 = FloatVector.fromArray(SPECIES, ci, ci0);
    for (int p = 0, bp = bOff; p < k; p++, bp += ldb) {
      FloatVector av = FloatVector.broadcast(SPECIES, a[aOff + p]);
      s0 = av.fma(FloatVector.fromArray(SPECIES, b, bp), s0);
    }
    s0.intoArray(c, cOff);
  }
}
