package io.gradflow.common.kernels;

import static io.gradflow.common.kernels.VectorGeometry.KC;
import static io.gradflow.common.kernels.VectorGeometry.L;
import static io.gradflow.common.kernels.VectorGeometry.MR;
import static io.gradflow.common.kernels.VectorGeometry.NR;
import static io.gradflow.common.kernels.VectorGeometry.grow;
import static io.gradflow.common.kernels.VectorMicroKernels.kernel1x1;
import static io.gradflow.common.kernels.VectorMicroKernels.kernel1x4;
import static io.gradflow.common.kernels.VectorMicroKernels.kernel6x1;
import static io.gradflow.common.kernels.VectorMicroKernels.kernel6x2;
import static io.gradflow.common.kernels.VectorMicroKernels.kernel6x4;

/**
 * The blocked product behind {@link VectorKernels}: {@code C = C0 + A B} with {@code B} row-major
 * and contiguous along {@code C}'s columns, every element one chain of fused multiply-adds in
 * order of the shared index, cut into register tiles ({@link VectorMicroKernels}) and cache
 * blocks.
 *
 * <p>The micro-kernel keeps a 6-row by 4-vector tile of {@code C} (24 accumulators, 64 columns) in
 * registers and per step of the shared dimension broadcasts one element from each of 6 rows of
 * {@code A} and multiply-adds it into 4 vectors of {@code B} (6 broadcasts and 4 loads per 24
 * fmas; on this Zen 4 it beat 8 x 2 and 4 x 4 tiles by about 10%). With 8 lanes the tile is 6 rows
 * by 2 vectors (12 accumulators, 16 columns): AVX2 has 16 vector registers, not 32, and in AVX2
 * mode 6 x 2 ran 1.8x faster than 6 x 4 here. The shared
 * dimension is cut into blocks of 256 so that a panel of {@code B} stays in cache while every row
 * tile passes over it. Leftover columns: one 6 x 2 panel (16 lanes only) and one 6 x 1 panel at
 * most, then a zero-padded scratch tile for the last {@code < L} (L = lanes). Leftover rows: 4 or
 * 5 make one more tile whose extra rows are clamped onto the last real row (they recompute it and
 * store the same bits to the same place); 1 to 3 go row by row through 1 x 4 and 1 x 1 kernels.
 *
 * <p>Not thread-safe: the tail's scratch belongs to the instance, grows to the largest block seen
 * and is then reused. Each {@link VectorKernels} owns one.
 */
final class VectorGemm {
  private float[] tailB = new float[0];
  private final float[] tailC = new float[MR * L];

  // C (m x n, row stride ldc) = C (or 0 when !load) + A (m x k, row stride lda, unit column
  // stride) B (k x n, row stride ldb): per element c = fma(a_0, b_0, c), then fma(a_1, b_1, .), ...
  // in order of the shared index.

  void gemm(
      float[] a, int lda, int m, int k, float[] b, int ldb, int n, float[] c, int ldc,
      boolean load) {
    // Blocks of KC steps of the shared dimension keep a panel of B (KC x NR*L floats) in cache
    // while every row tile of A passes over it. C holds the running sums between blocks: storing
    // and reloading a float is exact, so every element is still one sequential chain.
    for (int p0 = 0; p0 < k; p0 += KC) {
      int kc = Math.min(KC, k - p0);
      gemmBlock(a, lda, p0, m, kc, b, p0 * ldb, ldb, n, c, ldc, load || p0 > 0);
    }
  }

  void gemmBlock(
      float[] a, int lda, int p0, int m, int kc,
      float[] b, int bOff, int ldb, int n, float[] c, int ldc, boolean load) {
    // Rows: tiles of MR; 4 or 5 left over make one more tile, clamped; 1 to 3 go one by one.
    int tiled = m % MR <= 3 ? m - m % MR : m;
    // Columns: panels of NR vectors (4: then at most one of 2), at most one of 1, the tail (< L).
    int n4 = NR == 4 ? n - n % (4 * L) : 0;
    int n1 = n - n % L;
    int n2 = n4 + (n1 - n4) / (2 * L) * (2 * L);
    for (int j = 0; j < n4; j += 4 * L) {
      for (int i = 0; i < tiled; i += MR) {
        kernel6x4(a, i * lda + p0, lda, Math.min(MR, m - i), kc,
            b, bOff + j, ldb, c, i * ldc + j, ldc, load);
      }
    }
    for (int j = n4; j < n2; j += 2 * L) {
      for (int i = 0; i < tiled; i += MR) {
        kernel6x2(a, i * lda + p0, lda, Math.min(MR, m - i), kc,
            b, bOff + j, ldb, c, i * ldc + j, ldc, load);
      }
    }
    for (int j = n2; j < n1; j += L) {
      for (int i = 0; i < tiled; i += MR) {
        kernel6x1(a, i * lda + p0, lda, Math.min(MR, m - i), kc,
            b, bOff + j, ldb, c, i * ldc + j, ldc, load);
      }
    }
    // A single row needs 4 accumulators at most, so it takes 4 vectors at a time at either width.
    int r4 = n - n % (4 * L);
    for (int i = tiled; i < m; i++) {
      for (int j = 0; j < r4; j += 4 * L) {
        kernel1x4(a, i * lda + p0, kc, b, bOff + j, ldb, c, i * ldc + j, load);
      }
      for (int j = r4; j < n1; j += L) {
        kernel1x1(a, i * lda + p0, kc, b, bOff + j, ldb, c, i * ldc + j, load);
      }
    }
    int t = n - n1;
    if (t > 0) {
      // The last t < L columns: B's into a zero-padded kc x L panel, C's through a scratch tile.
      float[] tb = tailB = grow(tailB, (long) kc * L);
      for (int p = 0; p < kc; p++) {
        int bq = bOff + p * ldb + n1;
        for (int q = 0; q < L; q++) {
          tb[p * L + q] = q < t ? b[bq + q] : 0f;
        }
      }
      float[] tc = tailC;
      for (int i = 0; i < m; i += MR) {
        int rows = Math.min(MR, m - i);
        // Plain loops: t < L floats is too short for System.arraycopy's call to pay.
        if (load) {
          for (int r = 0; r < rows; r++) {
            for (int q = 0, cq = (i + r) * ldc + n1; q < t; q++) {
              tc[r * L + q] = c[cq + q];
            }
          }
        }
        kernel6x1(a, i * lda + p0, lda, rows, kc, tb, 0, L, tc, 0, L, load);
        for (int r = 0; r < rows; r++) {
          for (int q = 0, cq = (i + r) * ldc + n1; q < t; q++) {
            c[cq + q] = tc[r * L + q];
          }
        }
      }
    }
  }
}
