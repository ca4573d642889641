package io.gradflow.common.kernels;

import org.ejml.data.FMatrixRMaj;
import org.ejml.dense.row.CommonOps_FDRM;

/**
 * The reference kernels: EJML's row-major float products. The tests compare every fast kernel
 * against these, and the benchmarks use them as the baseline.
 */
public final class EjmlKernels implements DenseKernels {

  @Override
  public String id() {
    return "ejml";
  }

  @Override
  public void forward(float[] x, float[] w, float[] b, float[] z, int batch, int in, int out) {
    FMatrixRMaj xm = FMatrixRMaj.wrap(batch, in, x);
    FMatrixRMaj wm = FMatrixRMaj.wrap(out, in, w);
    FMatrixRMaj zm = FMatrixRMaj.wrap(batch, out, z);
    CommonOps_FDRM.multTransB(xm, wm, zm);
    for (int i = 0; i < batch; i++) {
      int row = i * out;
      for (int j = 0; j < out; j++) {
        z[row + j] += b[j];
      }
    }
  }

  @Override
  public void weightGradient(float[] dz, float[] x, float[] dw, int batch, int in, int out) {
    FMatrixRMaj dzm = FMatrixRMaj.wrap(batch, out, dz);
    FMatrixRMaj xm = FMatrixRMaj.wrap(batch, in, x);
    FMatrixRMaj dwm = FMatrixRMaj.wrap(out, in, dw);
    CommonOps_FDRM.multTransA(dzm, xm, dwm);
  }

  @Override
  public void inputGradient(float[] dz, float[] w, float[] dx, int batch, int in, int out) {
    FMatrixRMaj dzm = FMatrixRMaj.wrap(batch, out, dz);
    FMatrixRMaj wm = FMatrixRMaj.wrap(out, in, w);
    FMatrixRMaj dxm = FMatrixRMaj.wrap(batch, in, dx);
    CommonOps_FDRM.mult(dzm, wm, dxm);
  }
}
