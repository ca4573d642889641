package io.gradflow.common.kernels;

import static io.gradflow.common.kernels.VectorGeometry.L;
import static io.gradflow.common.kernels.VectorGeometry.SPECIES;
import static io.gradflow.common.kernels.VectorGeometry.grow;
import static io.gradflow.common.kernels.VectorTranspose.transpose;

import io.gradflow.common.model.Activation;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The fast path: the three dense-layer products on the Java Vector API ({@code
 * jdk.incubator.vector}), with 512-bit vectors (16 float lanes) where the JIT prefers them
 * (AVX-512) and 256-bit vectors (8 lanes) elsewhere, such as AVX2; see {@link
 * VectorGeometry#SPECIES}. The JVM needs {@code --add-modules jdk.incubator.vector}. Speed needs a
 * JIT that compiles the chosen width to vector instructions: where it cannot (no AVX2, or a width
 * forced wider than the machine's) the bits are the same but the Vector API falls back to slow
 * Java code, far slower than {@link EjmlKernels}. So is the interpreter: a fresh JVM's first calls
 * on a large layer take up to about a second, until C2 has compiled the kernels.
 *
 * <p><b>Order of operations (the determinism contract).</b> Every output element is one
 * sequential chain of fused multiply-adds over the shared dimension, in index order, each rounded
 * once ({@link Math#fma}):
 *
 * <ul>
 *   <li>{@code forward}: {@code z_ij = b_j; then for k = 0..in-1: z_ij = fma(x_ik, w_jk, z_ij)}.
 *   <li>{@code weightGradient}: {@code dw_jk = 0; for i = 0..B-1: dw_jk = fma(dz_ij, x_ik,
 *       dw_jk)}.
 *   <li>{@code inputGradient}: {@code dx_ik = 0; for j = 0..out-1: dx_ik = fma(dz_ij, w_jk,
 *       dx_ik)}.
 *   <li>{@code biasGradient}: {@code db_j = 0; for i = 0..B-1: db_j = db_j + dz_ij} (the same bits
 *       as the interface's default).
 * </ul>
 *
 * <p>Each vector lane computes exactly this chain for one element ({@code FloatVector.fma} is
 * {@code Math.fma} lane-wise), the last partial vector of columns is computed the same way on a
 * zero-padded copy, and blocking over the shared dimension only parks the running value in the
 * output (a float store and reload is exact). So the bits depend on the inputs alone: not on the
 * blocking, on which forward path a shape takes, on where a tail starts, on how many other rows
 * the batch has, or on whether the code runs interpreted or compiled, nor on the vector width: 256
 * and 512 bits give the same bits. So {@link #id()} is {@code vector-512} at either width, the
 * name under which these bits first shipped, and a worker with AVX2 joins a server with AVX-512.
 * {@code VectorKernelsTest} checks every product bit for bit against the scalar chain, and the
 * build runs it at both widths.
 *
 * <p><b>Design.</b> Each product is {@code C = C0 + A B} with {@code B} row-major and contiguous
 * along {@code C}'s columns, computed by {@link VectorGemm} (register tiles, cache blocks and
 * leftovers: see there).
 *
 * <ul>
 *   <li>{@code forward} needs {@code W^T}. When {@code (in + out) * roundUp(B, L) < in * out}
 *       (small batches) or {@code out < L} (a narrow output layer) it computes {@code Z^T =
 *       W X^T} from a packed {@code X^T} and transposes
 *       {@code Z^T} into {@code Z}; otherwise it packs {@code W^T}. The bias is the chain's start.
 *   <li>{@code weightGradient} packs {@code dZ^T} ({@code out x B}) and runs {@code dZ^T X}.
 *   <li>{@code inputGradient} runs {@code dZ W} on the arrays as they are.
 * </ul>
 *
 * <p>Transposes run on L x L blocks in registers ({@link VectorTranspose}). Packed buffers get a
 * row stride that is not a multiple of 512 bytes, so that a panel's rows do not pile onto a few
 * cache sets.
 *
 * <p><b>Not thread-safe.</b> The packing buffers belong to the instance, grow to the largest
 * shape seen and are then reused: no allocation per call in steady state. Use one instance per
 * thread (one per {@code Backprop}, or one shared by {@code Backprop}s that run on one thread).
 *
 * <p>Arrays may be longer than the logical sizes; only the logical elements are read or written.
 */
public final class VectorKernels implements DenseKernels {
  /** The system property that forces the vector width, in bits: {@code 256} or {@code 512}. */
  public static final String BITS_PROPERTY = "gradflow.vector.bits";

  /** The vector width in use, in bits: 512 or 256. */
  public static final int BITS = SPECIES.vectorBitSize();

  /**
   * The kernel id, {@code vector-512}, at either width: it names the order of operations (the
   * bits), which the width does not change, so that workers with AVX2 and with AVX-512 agree on a
   * job's fingerprint. {@link #BITS} says which width runs.
   */
  public static final String ID = Kernels.VECTOR_512;

  private float[] packB = new float[0];
  private float[] packC = new float[0];
  private final VectorGemm products = new VectorGemm();
  private final VectorSegmentGradients segmentSums = new VectorSegmentGradients(products);

  /** Test hook: -1 chooses by cost, 0 forces the packed-W^T path, 1 the Z^T = W X^T path. */
  int forwardPath = -1;

  @Override
  public String id() {
    return ID;
  }

  @Override
  public void forward(float[] x, float[] w, float[] b, float[] z, int batch, int in, int out) {
    check("forward", batch, in, out);
    need("X", x, (long) batch * in);
    need("W", w, (long) out * in);
    need("b", b, out);
    need("Z", z, (long) batch * out);
    int bPad = roundUp(batch, L);
    // Transposed when packing X^T moves fewer floats than packing W^T, or when Z has fewer
    // columns than one vector: then every row tile would go through the padded-tail path.
    boolean transposed =
        forwardPath < 0
            ? out < L || (long) in * bPad + (long) out * bPad < (long) in * out
            : forwardPath == 1;
    if (!transposed) {
      // Z = X W^T: pack W^T (in x out), start every row of Z at b.
      int ldw = padLd(out);
      float[] wt = packB = grow(packB, (long) in * ldw);
      transpose(w, 0, in, out, in, wt, 0, ldw);
      for (int i = 0; i < batch; i++) {
        for (int j = 0, zi = i * out; j < out; j++) {
          z[zi + j] = b[j];
        }
      }
      products.gemm(x, in, batch, in, wt, ldw, out, z, out, true);
    } else {
      // Z^T = W X^T: pack X^T (in x bPad, zero-padded), start row j of Z^T at b_j, transpose back.
      int ldx = padLd(bPad);
      float[] xt = packB = grow(packB, (long) in * ldx);
      transpose(x, 0, in, batch, in, xt, 0, ldx);
      if (batch < bPad) {
        for (int k = 0; k < in; k++) {
          java.util.Arrays.fill(xt, k * ldx + batch, k * ldx + bPad, 0f);
        }
      }
      float[] zt = packC = grow(packC, (long) out * ldx);
      for (int j = 0; j < out; j++) {
        java.util.Arrays.fill(zt, j * ldx, j * ldx + bPad, b[j]);
      }
      // X^T's padding columns are zero, so Z^T's padding columns need no tail handling.
      products.gemm(w, in, out, in, xt, ldx, bPad, zt, ldx, true);
      transpose(zt, 0, ldx, out, batch, z, 0, out);
    }
  }

  @Override
  public void weightGradient(float[] dz, float[] x, float[] dw, int batch, int in, int out) {
    check("weightGradient", batch, in, out);
    need("dZ", dz, (long) batch * out);
    need("X", x, (long) batch * in);
    need("dW", dw, (long) out * in);
    // dW (out x in) = dZ^T (out x B, packed) X (B x in).
    float[] dzt = packB = grow(packB, (long) out * batch);
    transpose(dz, 0, out, batch, out, dzt, 0, batch);
    products.gemm(dzt, batch, out, batch, x, in, in, dw, in, false);
  }

  @Override
  public void inputGradient(float[] dz, float[] w, float[] dx, int batch, int in, int out) {
    check("inputGradient", batch, in, out);
    need("dZ", dz, (long) batch * out);
    need("W", w, (long) out * in);
    need("dX", dx, (long) batch * in);
    // dX (B x in) = dZ (B x out) W (out x in).
    products.gemm(dz, out, batch, out, w, in, in, dx, in, false);
  }

  @Override
  public void biasGradient(float[] dz, float[] db, int batch, int out) {
    if (batch <= 0 || out <= 0) {
      throw new IllegalArgumentException(
          "biasGradient: batch and out must be positive, got " + batch + " and " + out);
    }
    need("dZ", dz, (long) batch * out);
    need("db", db, out);
    columnSums(dz, 0, batch, out, db);
  }

  /** {@code db_j = 0; for i: db_j = db_j + dz[off + i*out + j]}, rows {@code [0, rows)}. */
  static void columnSums(float[] dz, int off, int rows, int out, float[] db) {
    int j = 0;
    for (; j + L <= out; j += L) {
      FloatVector acc = FloatVector.zero(SPECIES);
      for (int i = 0, row = off + j; i < rows; i++, row += out) {
        acc = acc.add(FloatVector.fromArray(SPECIES, dz, row));
      }
      acc.intoArray(db, j);
    }
    for (; j < out; j++) {
      float acc = 0f;
      for (int i = 0, row = off + j; i < rows; i++, row += out) {
        acc += dz[row];
      }
      db[j] = acc;
    }
  }

  /** ReLU ({@code z > 0 ? z : 0}) and identity in vectors; the others as the interface does. */
  @Override
  public void activate(Activation f, float[] v, int n) {
    if (f == Activation.IDENTITY) {
      return;
    }
    if (f != Activation.RELU) {
      DenseKernels.super.activate(f, v, n);
      return;
    }
    FloatVector zero = FloatVector.zero(SPECIES);
    int k = 0;
    for (; k + L <= n; k += L) {
      FloatVector z = FloatVector.fromArray(SPECIES, v, k);
      zero.blend(z, z.compare(VectorOperators.GT, 0f)).intoArray(v, k);
    }
    for (; k < n; k++) {
      v[k] = Activation.RELU.apply(v[k]);
    }
  }

  /**
   * In vectors for every activation whose derivative is plain float arithmetic on the output
   * (ReLU: 1 or 0; sigmoid: {@code a (1 - a)}; tanh: {@code 1 - a a}; identity: 1), with the same
   * operations in the same order as {@link Activation#derivativeFromOutput}, so the same bits.
   */
  @Override
  public void activationGradient(Activation f, float[] a, float[] d, int n) {
    FloatVector zero = FloatVector.zero(SPECIES);
    FloatVector one = FloatVector.broadcast(SPECIES, 1f);
    int k = 0;
    for (; k + L <= n; k += L) {
      FloatVector av = FloatVector.fromArray(SPECIES, a, k);
      FloatVector slope =
          switch (f) {
            case RELU -> zero.blend(one, av.compare(VectorOperators.GT, 0f));
            case SIGMOID -> av.mul(one.sub(av));
            case TANH -> one.sub(av.mul(av));
            case IDENTITY -> one;
          };
      FloatVector.fromArray(SPECIES, d, k).mul(slope).intoArray(d, k);
    }
    for (; k < n; k++) {
      d[k] *= f.derivativeFromOutput(a[k]);
    }
  }

  @Override
  public boolean segmentsFixed() {
    return true;
  }

  /**
   * Checks the arguments and packs {@code dZ^T} once for all the segments; {@link
   * VectorSegmentGradients} computes each segment's tiles with the same chains as {@link
   * #weightGradient} and {@link #biasGradient} and rounds them into the sums.
   */
  @Override
  public boolean addSegmentGradientsFixed(
      float[] dz, float[] x, int[] starts, int segments, int in, int out, long[] dwSum, long[] dbSum,
      boolean overwrite) {
    if (segments <= 0 || starts.length <= segments || starts[0] < 0) {
      throw new IllegalArgumentException(
          "addSegmentGradientsFixed: expected 1.." + (starts.length - 1) + " segments from row 0 on, got "
              + segments);
    }
    for (int s = 0; s < segments; s++) {
      if (starts[s + 1] <= starts[s]) {
        throw new IllegalArgumentException(
            "addSegmentGradientsFixed: segment " + s + " is empty: rows " + starts[s] + ".."
                + starts[s + 1]);
      }
    }
    int first = starts[0];
    int end = starts[segments];
    check("addSegmentGradientsFixed", end, in, out);
    need("dZ", dz, (long) end * out);
    need("X", x, (long) end * in);
    if (dwSum.length < (long) out * in || dbSum.length < out) {
      throw new IllegalArgumentException(
          "addSegmentGradientsFixed: sums of " + dwSum.length + " and " + dbSum.length
              + " elements, expected at least " + (long) out * in + " and " + out);
    }
    // dZ^T (out x rows, packed): column c is row first + c.
    int ldz = end - first;
    float[] dzt = packB = grow(packB, (long) out * ldz);
    transpose(dz, first * out, out, ldz, out, dzt, 0, ldz);
    return segmentSums.add(
        dz, dzt, ldz, x, starts, first, segments, in, out, dwSum, dbSum, overwrite);
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * A row stride of at least {@code n} floats, a whole number of vectors, that is not a multiple
   * of 512 bytes: power-of-two strides map a column of a packed panel onto a few cache sets.
   */
  private static int padLd(int n) {
    int ld = roundUp(n, L);
    return ld % 128 == 0 ? ld + L : ld;
  }

  private static int roundUp(int n, int m) {
    return (n + m - 1) / m * m;
  }

  private static void check(String op, int batch, int in, int out) {
    if (batch <= 0 || in <= 0 || out <= 0) {
      throw new IllegalArgumentException(
          op + ": batch, in and out must be positive, got " + batch + ", " + in + ", " + out);
    }
    if ((long) batch * in > Integer.MAX_VALUE
        || (long) batch * out > Integer.MAX_VALUE
        || (long) in * out > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          op + ": " + batch + "x" + in + "x" + out + " is too large for float arrays");
    }
  }

  private static void need(String name, float[] a, long size) {
    if (a.length < size) {
      throw new IllegalArgumentException(
          name + ": expected at least " + size + " floats, got " + a.length);
    }
  }
}
