package io.gradflow.common.model;

import io.gradflow.common.util.SplitMix64;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The trainable state of a dense network: per layer {@code l} a weight matrix {@code W_l}
 * ({@code out x in}, row-major, as in PyTorch) and a bias {@code b_l} ({@code out}). Layer
 * {@code l} computes {@code z = a W_l^T + b_l} on a {@code B x in} minibatch.
 *
 * <p>Tensors have a canonical order and names: {@code layer0.W, layer0.b, layer1.W, ...}; the
 * weights hash ({@link #sha256()}) covers their float32 little-endian bytes in that order.
 */
public final class Network {
  private final ModelSpec spec;
  private final float[][] weights;
  private final float[][] biases;

  /** A network of zeros; see {@link #initialize(ModelSpec)} for a trainable start. */
  public Network(ModelSpec spec) {
    this.spec = spec;
    int layers = spec.layerCount();
    this.weights = new float[layers][];
    this.biases = new float[layers][];
    for (int l = 0; l < layers; l++) {
      weights[l] = new float[spec.fanOut(l) * spec.fanIn(l)];
      biases[l] = new float[spec.fanOut(l)];
    }
  }

  /**
   * He ({@code N(0, 2/fan_in)}) or Xavier ({@code N(0, 2/(fan_in+fan_out))}) weights drawn from
   * the spec's seed with {@link SplitMix64}; zero biases.
   */
  public static Network initialize(ModelSpec spec) {
    Network n = new Network(spec);
    SplitMix64 rng = new SplitMix64(spec.seed());
    for (int l = 0; l < spec.layerCount(); l++) {
      int in = spec.fanIn(l);
      int out = spec.fanOut(l);
      double variance = spec.init() == ModelSpec.Init.HE ? 2.0 / in : 2.0 / (in + out);
      double std = Math.sqrt(variance);
      float[] w = n.weights[l];
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) (rng.nextGaussian() * std);
      }
    }
    return n;
  }

  public ModelSpec spec() {
    return spec;
  }

  public int layerCount() {
    return weights.length;
  }

  /** {@code W_l}, {@code out x in} row-major; the live array (callers may update it in place). */
  public float[] weights(int layer) {
    return weights[layer];
  }

  /** {@code b_l}; the live array. */
  public float[] biases(int layer) {
    return biases[layer];
  }

  /** Number of tensors: two per layer. */
  public int tensorCount() {
    return 2 * weights.length;
  }

  /** Tensor {@code t} in canonical order: even t is {@code W_(t/2)}, odd t is {@code b_(t/2)}. */
  public float[] tensor(int t) {
    return (t & 1) == 0 ? weights[t >> 1] : biases[t >> 1];
  }

  /** {@code layer0.W}, {@code layer0.b}, ... */
  public static String tensorName(int t) {
    return "layer" + (t >> 1) + ((t & 1) == 0 ? ".W" : ".b");
  }

  /** Shape of tensor {@code t}: {@code [out, in]} for W, {@code [out]} for b. */
  public long[] tensorShape(int t) {
    int l = t >> 1;
    return (t & 1) == 0
        ? new long[] {spec.fanOut(l), spec.fanIn(l)}
        : new long[] {spec.fanOut(l)};
  }

  /** Copies every tensor of {@code other} (same spec) into this network. */
  public void copyFrom(Network other) {
    for (int t = 0; t < tensorCount(); t++) {
      System.arraycopy(other.tensor(t), 0, tensor(t), 0, tensor(t).length);
    }
  }

  /** Element counts of the tensors, in canonical order. */
  public int[] tensorLengths() {
    int[] lengths = new int[tensorCount()];
    for (int t = 0; t < lengths.length; t++) {
      lengths[t] = tensor(t).length;
    }
    return lengths;
  }

  public Network copy() {
    Network n = new Network(spec);
    n.copyFrom(this);
    return n;
  }

  /** SHA-256 of all tensors' float32 little-endian bytes in canonical order, as hex. */
  public String sha256() {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
      for (int t = 0; t < tensorCount(); t++) {
        for (float v : tensor(t)) {
          if (buf.remaining() < 4) {
            buf.flip();
            md.update(buf);
            buf.clear();
          }
          buf.putFloat(v);
        }
      }
      buf.flip();
      md.update(buf);
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 missing from the JDK", e);
    }
  }

  /** True if every weight and bias is finite. */
  public boolean isFinite() {
    for (int t = 0; t < tensorCount(); t++) {
      for (float v : tensor(t)) {
        if (!Float.isFinite(v)) {
          return false;
        }
      }
    }
    return true;
  }
}
