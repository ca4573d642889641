package io.gradflow.common.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The vector width does not change the bits: the four products on shapes that reach every tile,
 * panel, tail and forward path at 8 and at 16 lanes hash to one SHA-256, {@link #GOLDEN}, which
 * the scalar {@link Math#fma} chain gives too. The build runs this class at the machine's width
 * and again with {@code gradflow.vector.bits} set to 256 and to 512, so every width has to meet
 * the same constant; it also pins the bits across JDKs and machines.
 */
class VectorKernelsWidthTest {
  /** SHA-256 of the outputs' float bits, little-endian, in the order of {@link #outputs}. */
  private static final String GOLDEN =
      "f454342afd1b7603fc65b66c7f58d8f3adb13d92cc1c218df3fc6d3af7aef0d4";

  /** {batch, in, out}: layer shapes at small and full batches, odd sizes, several K blocks. */
  private static final int[][] SHAPES = {
    {1, 784, 256}, {5, 784, 256}, {128, 784, 256}, {16, 256, 128}, {128, 256, 128},
    {7, 128, 10}, {128, 128, 10}, {3, 17, 33}, {13, 100, 33}, {37, 600, 45}, {2, 1000, 3},
    {300, 3, 2}, {9, 23, 71}, {29, 40, 96}
  };

  @Test
  void vectorProductsHashToTheGoldenDigestAtThisWidth() {
    assertEquals(GOLDEN, digest(false), "vector-" + VectorKernels.BITS + " products");
  }

  @Test
  void theScalarChainHashesToTheGoldenDigest() {
    assertEquals(GOLDEN, digest(true), "scalar fma chain");
  }

  /** Every product of every shape: forward by both paths, weightGradient, inputGradient, bias. */
  private static String digest(boolean scalar) {
    MessageDigest sha = sha256();
    Random rnd = new Random(2024);
    for (int[] s : SHAPES) {
      int batch = s[0];
      int in = s[1];
      int out = s[2];
      float[] x = random(rnd, batch * in);
      float[] w = random(rnd, out * in);
      float[] b = random(rnd, out);
      float[] dz = random(rnd, batch * out);
      for (int path = 0; path <= 1; path++) {
        float[] z = new float[batch * out];
        if (scalar) {
          scalarForward(x, w, b, z, batch, in, out);
        } else {
          VectorKernels v = new VectorKernels();
          v.forwardPath = path;
          v.forward(x, w, b, z, batch, in, out);
        }
        update(sha, z);
      }
      float[] dw = new float[out * in];
      float[] dx = new float[batch * in];
      float[] db = new float[out];
      if (scalar) {
        scalarGradients(dz, x, w, dw, dx, db, batch, in, out);
      } else {
        VectorKernels v = new VectorKernels();
        v.weightGradient(dz, x, dw, batch, in, out);
        v.inputGradient(dz, w, dx, batch, in, out);
        v.biasGradient(dz, db, batch, out);
      }
      update(sha, dw);
      update(sha, dx);
      update(sha, db);
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  private static void scalarForward(
      float[] x, float[] w, float[] b, float[] z, int batch, int in, int out) {
    for (int i = 0; i < batch; i++) {
      for (int j = 0; j < out; j++) {
        float acc = b[j];
        for (int k = 0; k < in; k++) {
          acc = Math.fma(x[i * in + k], w[j * in + k], acc);
        }
        z[i * out + j] = acc;
      }
    }
  }

  private static void scalarGradients(float[] dz, float[] x, float[] w, float[] dw, float[] dx,
      float[] db, int batch, int in, int out) {
    for (int j = 0; j < out; j++) {
      for (int k = 0; k < in; k++) {
        float acc = 0f;
        for (int i = 0; i < batch; i++) {
          acc = Math.fma(dz[i * out + j], x[i * in + k], acc);
        }
        dw[j * in + k] = acc;
      }
    }
    for (int i = 0; i < batch; i++) {
      for (int k = 0; k < in; k++) {
        float acc = 0f;
        for (int j = 0; j < out; j++) {
          acc = Math.fma(dz[i * out + j], w[j * in + k], acc);
        }
        dx[i * in + k] = acc;
      }
    }
    for (int j = 0; j < out; j++) {
      float acc = 0f;
      for (int i = 0; i < batch; i++) {
        acc += dz[i * out + j];
      }
      db[j] = acc;
    }
  }

  private static void update(MessageDigest sha, float[] a) {
    ByteBuffer buf = ByteBuffer.allocate(4 * a.length).order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().put(a);
    sha.update(buf.array());
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  /** Uniform in [-1, 1): a signed 24-bit fraction, exact in float. */
  private static float[] random(Random rnd, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = rnd.nextFloat() * 2 - 1;
    }
    return a;
  }
}
