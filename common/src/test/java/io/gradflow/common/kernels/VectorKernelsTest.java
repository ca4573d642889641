package io.gradflow.common.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Backprop;
import io.gradflow.common.nn.Gradients;
import java.util.Arrays;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/**
 * {@link VectorKernels} against the documented order of operations (a scalar {@link Math#fma}
 * chain, bit for bit) and against {@link EjmlKernels} (within the rounding bound of two different
 * summation orders), on odd and layer-sized shapes, with arrays longer than the logical size.
 * The build runs it at the machine's width and again at 256 and at 512 bits (surefire executions
 * that set {@link VectorKernels#BITS_PROPERTY}).
 */
class VectorKernelsTest {
  private static final int[] ODD = {1, 3, 7, 15, 17, 33, 100};
  /** Extra elements past the logical size of every array. */
  private static final int SLACK = 21;
  private static final float SENTINEL = -12345.5f;

  private final EjmlKernels ejml = new EjmlKernels();

  @Test
  void idIsVector512AtEitherWidth() {
    VectorKernels v = new VectorKernels();
    assertEquals("vector-512", v.id());
    assertEquals(Kernels.VECTOR_512, VectorKernels.ID);
    assertEquals(VectorGeometry.SPECIES.vectorBitSize(), VectorKernels.BITS);
  }

  @Test
  void widthIsThePropertyElseWhatTheMachinePrefers() {
    String forced = System.getProperty(VectorKernels.BITS_PROPERTY);
    int expected =
        forced != null
            ? Integer.parseInt(forced)
            : FloatVector.SPECIES_PREFERRED.length() >= 16 ? 512 : 256;
    assertEquals(expected, VectorKernels.BITS, "forced: " + forced);
    assertEquals(VectorKernels.BITS / 32, VectorGeometry.SPECIES.length());
  }

  @Test
  void oddShapesMatchTheScalarChainBitForBitAndEjmlWithinRounding() {
    Random rnd = new Random(42);
    VectorKernels v = new VectorKernels();
    for (int batch : new int[] {1, 2, 3, 4, 5, 8, 9, 12, 16, 17}) {
      for (int in : ODD) {
        for (int out : ODD) {
          checkAll(v, rnd, batch, in, out);
        }
      }
    }
  }

  @Test
  void layerShapesOf784x256x128x10MatchAtEveryBatch() {
    Random rnd = new Random(7);
    VectorKernels v = new VectorKernels();
    int[][] layers = {{784, 256}, {256, 128}, {128, 10}};
    for (int batch : new int[] {1, 5, 16, 128}) {
      for (int[] l : layers) {
        checkAll(v, rnd, batch, l[0], l[1]);
      }
    }
    // Tall and skinny, wide and short, and a shared dimension longer than one cache block.
    checkAll(v, rnd, 300, 3, 2);
    checkAll(v, rnd, 2, 1000, 3);
    checkAll(v, rnd, 37, 600, 45);
  }

  @Test
  void bothForwardPathsGiveTheSameBits() {
    Random rnd = new Random(3);
    for (int[] s : new int[][] {{1, 784, 256}, {5, 33, 17}, {16, 256, 128}, {128, 128, 10}}) {
      int batch = s[0];
      int in = s[1];
      int out = s[2];
      float[] x = random(rnd, batch * in);
      float[] w = random(rnd, out * in);
      float[] b = random(rnd, out);
      float[][] results = new float[3][];
      for (int path = -1; path <= 1; path++) {
        VectorKernels v = new VectorKernels();
        v.forwardPath = path;
        results[path + 1] = new float[batch * out];
        v.forward(x, w, b, results[path + 1], batch, in, out);
      }
      assertBitsEqual(results[1], results[0], "auto vs W^T path " + Arrays.toString(s));
      assertBitsEqual(results[1], results[2], "W^T path vs Z^T path " + Arrays.toString(s));
    }
  }

  @Test
  void repeatedCallsAndReusedScratchGiveIdenticalBits() {
    Random rnd = new Random(11);
    int batch = 13;
    int in = 100;
    int out = 33;
    float[] x = random(rnd, batch * in);
    float[] w = random(rnd, out * in);
    float[] b = random(rnd, out);
    float[] dz = random(rnd, batch * out);
    VectorKernels fresh = new VectorKernels();
    float[] z1 = new float[batch * out];
    float[] dw1 = new float[out * in];
    float[] dx1 = new float[batch * in];
    fresh.forward(x, w, b, z1, batch, in, out);
    fresh.weightGradient(dz, x, dw1, batch, in, out);
    fresh.inputGradient(dz, w, dx1, batch, in, out);
    // A used instance whose scratch buffers hold other shapes' leftovers.
    VectorKernels used = new VectorKernels();
    checkAll(used, rnd, 128, 784, 256);
    checkAll(used, rnd, 3, 17, 7);
    for (int rep = 0; rep < 3; rep++) {
      float[] z2 = new float[batch * out];
      float[] dw2 = new float[out * in];
      float[] dx2 = new float[batch * in];
      used.forward(x, w, b, z2, batch, in, out);
      used.weightGradient(dz, x, dw2, batch, in, out);
      used.inputGradient(dz, w, dx2, batch, in, out);
      assertBitsEqual(z1, z2, "forward, call " + rep);
      assertBitsEqual(dw1, dw2, "weightGradient, call " + rep);
      assertBitsEqual(dx1, dx2, "inputGradient, call " + rep);
    }
  }

  @Test
  void badSizesAreRefusedWithTheNumbers() {
    VectorKernels v = new VectorKernels();
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> v.forward(new float[6], new float[9], new float[3], new float[5], 2, 3, 3));
    assertTrue(e.getMessage().contains("Z: expected at least 6 floats, got 5"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> v.inputGradient(new float[6], new float[6], new float[6], 0, 3, 2));
  }

  // ---------------------------------------------------------------------------------------------
  // Registration.

  @Test
  void kernelsByNameKnowsVectorAndItsAlias() {
    assertEquals("vector-512", Kernels.byName("vector").id());
    assertEquals("vector-512", Kernels.byName("vector-512").id());
    assertEquals("vector-512", Kernels.byName("vector-256").id());
    assertEquals("vector-512", Kernels.canonicalName("vector-256"));
    assertEquals("ejml", Kernels.byName("ejml").id());
    assertEquals(Kernels.DEFAULT, Kernels.byName(Kernels.DEFAULT).id());
    assertEquals("vector-512", Kernels.DEFAULT);
    assertEquals("vector-512", Kernels.canonicalName("vector"));
    assertTrue(Kernels.byName("vector") instanceof VectorKernels);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Kernels.byName("blas"));
    assertTrue(e.getMessage().contains("'blas'") && e.getMessage().contains("vector-256"));
  }

  @Test
  void aBadForcedWidthIsRefusedNamingTheProperty() {
    String before = System.getProperty(VectorKernels.BITS_PROPERTY);
    System.setProperty(VectorKernels.BITS_PROPERTY, "128");
    try {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> Kernels.byName("vector"));
      assertEquals("gradflow.vector.bits: expected 256 or 512, got '128'", e.getMessage());
    } finally {
      if (before == null) {
        System.clearProperty(VectorKernels.BITS_PROPERTY);
      } else {
        System.setProperty(VectorKernels.BITS_PROPERTY, before);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Backprop with the vector kernels.

  @Test
  void backpropGradientsMatchEjml() {
    Random rnd = new Random(5);
    for (String sizes : new String[] {"784-256-128-10", "17-33-7-3"}) {
      for (String act : new String[] {"relu", "tanh", "sigmoid"}) {
        ModelSpec spec = ModelSpec.parse(sizes, act, "", 99);
        Network net = Network.initialize(spec);
        for (int l = 0; l < spec.layerCount(); l++) {
          float[] bias = net.biases(l);
          for (int j = 0; j < bias.length; j++) {
            bias[j] = (float) (0.1 * rnd.nextGaussian());
          }
        }
        int maxBatch = 32;
        int rows = 21; // fewer rows than the buffers hold
        Backprop slow = new Backprop(spec, new EjmlKernels(), maxBatch);
        Backprop fast = new Backprop(spec, new VectorKernels(), maxBatch);
        int[] labels = new int[rows];
        for (int i = 0; i < rows; i++) {
          labels[i] = rnd.nextInt(spec.outputSize());
        }
        float[] input = random(rnd, rows * spec.inputSize());
        Arrays.fill(slow.inputBuffer(), Float.NaN);
        Arrays.fill(fast.inputBuffer(), Float.NaN); // rows past `rows` must not be read
        System.arraycopy(input, 0, slow.inputBuffer(), 0, input.length);
        System.arraycopy(input, 0, fast.inputBuffer(), 0, input.length);
        Gradients ge = new Gradients(spec);
        Gradients gv = new Gradients(spec);
        double lossE = slow.forwardBackward(net, labels, rows, 64, ge);
        double lossV = fast.forwardBackward(net, labels, rows, 64, gv);
        String what = sizes + " " + act;
        assertEquals(lossE, lossV, 1e-5 * Math.abs(lossE), what + " loss");
        for (int t = 0; t < ge.tensorCount(); t++) {
          float[] e = ge.tensor(t);
          float[] v = gv.tensor(t);
          double max = 0;
          for (float f : e) {
            max = Math.max(max, Math.abs(f));
          }
          assertTrue(max > 0, what + " tensor " + t + " is all zero");
          for (int i = 0; i < e.length; i++) {
            if (!(Math.abs(e[i] - v[i]) <= 1e-4 * max)) {
              fail(what + " " + Network.tensorName(t) + "[" + i + "]: ejml " + e[i]
                  + ", vector " + v[i] + " (tensor max " + max + ")");
            }
          }
        }
        // The same pass again gives the same bits.
        Gradients again = new Gradients(spec);
        assertEquals(lossV, fast.forwardBackward(net, labels, rows, 64, again));
        for (int t = 0; t < gv.tensorCount(); t++) {
          assertBitsEqual(gv.tensor(t), again.tensor(t), what + " tensor " + t + " rerun");
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * Runs the four products on arrays {@link #SLACK} longer than needed (inputs padded with NaN,
   * outputs with a sentinel) and checks: the bits of the documented chain, EJML within rounding,
   * the padding untouched, the inputs unchanged.
   */
  private void checkAll(VectorKernels v, Random rnd, int batch, int in, int out) {
    String shape = "B=" + batch + " in=" + in + " out=" + out;
    float[] x = padded(random(rnd, batch * in), Float.NaN);
    float[] w = padded(random(rnd, out * in), Float.NaN);
    float[] b = padded(random(rnd, out), Float.NaN);
    float[] dz = padded(random(rnd, batch * out), Float.NaN);
    float[] x0 = x.clone();
    float[] w0 = w.clone();
    float[] b0 = b.clone();
    float[] dz0 = dz.clone();

    float[] z = output(batch * out);
    v.forward(x, w, b, z, batch, in, out);
    float[] zE = new float[batch * out];
    ejml.forward(x, w, b, zE, batch, in, out);
    for (int i = 0; i < batch; i++) {
      for (int j = 0; j < out; j++) {
        float acc = b[j];
        double scale = Math.abs(b[j]);
        for (int k = 0; k < in; k++) {
          acc = Math.fma(x[i * in + k], w[j * in + k], acc);
          scale += Math.abs((double) x[i * in + k] * w[j * in + k]);
        }
        assertBitsEqual(acc, z[i * out + j], "forward " + shape, i, j);
        near(zE[i * out + j], z[i * out + j], in + 1, scale, "forward " + shape, i, j);
      }
    }
    untouched(z, batch * out, "forward " + shape);

    float[] dw = output(out * in);
    v.weightGradient(dz, x, dw, batch, in, out);
    float[] dwE = new float[out * in];
    ejml.weightGradient(dz, x, dwE, batch, in, out);
    for (int j = 0; j < out; j++) {
      for (int k = 0; k < in; k++) {
        float acc = 0f;
        double scale = 0;
        for (int i = 0; i < batch; i++) {
          acc = Math.fma(dz[i * out + j], x[i * in + k], acc);
          scale += Math.abs((double) dz[i * out + j] * x[i * in + k]);
        }
        assertBitsEqual(acc, dw[j * in + k], "weightGradient " + shape, j, k);
        near(dwE[j * in + k], dw[j * in + k], batch, scale, "weightGradient " + shape, j, k);
      }
    }
    untouched(dw, out * in, "weightGradient " + shape);

    float[] dx = output(batch * in);
    v.inputGradient(dz, w, dx, batch, in, out);
    float[] dxE = new float[batch * in];
    ejml.inputGradient(dz, w, dxE, batch, in, out);
    for (int i = 0; i < batch; i++) {
      for (int k = 0; k < in; k++) {
        float acc = 0f;
        double scale = 0;
        for (int j = 0; j < out; j++) {
          acc = Math.fma(dz[i * out + j], w[j * in + k], acc);
          scale += Math.abs((double) dz[i * out + j] * w[j * in + k]);
        }
        assertBitsEqual(acc, dx[i * in + k], "inputGradient " + shape, i, k);
        near(dxE[i * in + k], dx[i * in + k], out, scale, "inputGradient " + shape, i, k);
      }
    }
    untouched(dx, batch * in, "inputGradient " + shape);

    float[] db = output(out);
    v.biasGradient(dz, db, batch, out);
    float[] dbDefault = output(out);
    new DenseKernels() { // the interface's default: the row-order sum
      @Override
      public String id() {
        return "default";
      }

      @Override
      public void forward(float[] x, float[] w, float[] b, float[] z, int bt, int i, int o) {}

      @Override
      public void weightGradient(float[] dz, float[] x, float[] dw, int bt, int i, int o) {}

      @Override
      public void inputGradient(float[] dz, float[] w, float[] dx, int bt, int i, int o) {}
    }.biasGradient(dz, dbDefault, batch, out);
    assertBitsEqual(dbDefault, db, "biasGradient " + shape);
    untouched(db, out, "biasGradient " + shape);

    assertBitsEqual(x0, x, "X changed " + shape);
    assertBitsEqual(w0, w, "W changed " + shape);
    assertBitsEqual(b0, b, "b changed " + shape);
    assertBitsEqual(dz0, dz, "dZ changed " + shape);
  }

  /**
   * Two float summations of the same {@code n} products each lie within {@code gamma_n * scale}
   * of the exact value ({@code scale} = sum of the products' magnitudes), so they differ by at
   * most twice that.
   */
  private static void near(float expected, float actual, int n, double scale, String what,
      int r, int c) {
    double u = 0x1p-24;
    double bound = 2 * (n * u / (1 - n * u)) * scale + Float.MIN_NORMAL;
    if (!(Math.abs((double) expected - actual) <= bound)) {
      fail(what + " at [" + r + "][" + c + "]: ejml " + expected + ", vector " + actual
          + ", allowed difference " + bound);
    }
  }

  private static void untouched(float[] a, int logical, String what) {
    for (int i = logical; i < a.length; i++) {
      if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(SENTINEL)) {
        fail(what + ": wrote element " + i + " past the logical size " + logical);
      }
    }
  }

  private static void assertBitsEqual(float expected, float actual, String what, int r, int c) {
    if (Float.floatToRawIntBits(expected) != Float.floatToRawIntBits(actual)) {
      fail(what + " at [" + r + "][" + c + "]: expected " + expected + ", got " + actual);
    }
  }

  /** The first {@code expected.length} elements of {@code actual}, bit for bit. */
  private static void assertBitsEqual(float[] expected, float[] actual, String what) {
    assertTrue(actual.length >= expected.length, what + ": length " + actual.length);
    for (int i = 0; i < expected.length; i++) {
      if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
        fail(what + ": bits differ at " + i + ": expected " + expected[i] + ", got " + actual[i]);
      }
    }
  }

  private static float[] random(Random rnd, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) rnd.nextGaussian();
    }
    return a;
  }

  private static float[] padded(float[] a, float fill) {
    float[] p = Arrays.copyOf(a, a.length + SLACK);
    Arrays.fill(p, a.length, p.length, fill);
    return p;
  }

  private static float[] output(int n) {
    float[] a = new float[n + SLACK];
    Arrays.fill(a, SENTINEL);
    return a;
  }
}
