package io.gradflow.common.model;

import java.util.Locale;

/**
 * Hidden-layer activations. Each one carries its forward rule {@code a = f(z)} and its local
 * gradient rule written in terms of the output {@code a}, which is what the backward pass keeps:
 *
 * <ul>
 *   <li>sigmoid: {@code a = 1 / (1 + e^-z)}, {@code da/dz = a (1 - a)}
 *   <li>relu: {@code a = max(0, z)}, {@code da/dz = 1 if a > 0 else 0} (the max switch)
 *   <li>tanh: {@code a = tanh z}, {@code da/dz = 1 - a^2}
 *   <li>identity: {@code a = z}, {@code da/dz = 1}
 * </ul>
 *
 * <p>Transcendentals go through {@link StrictMath} so that every JVM on every machine computes the
 * same bits; the distributed determinism guarantee depends on it.
 */
public enum Activation {
  SIGMOID {
    @Override
    public float apply(float z) {
      return (float) (1.0 / (1.0 + StrictMath.exp(-(double) z)));
    }

    @Override
    public double applyDouble(double z) {
      return 1.0 / (1.0 + StrictMath.exp(-z));
    }

    @Override
    public float derivativeFromOutput(float a) {
      return a * (1f - a);
    }
  },
  RELU {
    @Override
    public float apply(float z) {
      return z > 0f ? z : 0f;
    }

    @Override
    public double applyDouble(double z) {
      return z > 0 ? z : 0;
    }

    @Override
    public float derivativeFromOutput(float a) {
      return a > 0f ? 1f : 0f;
    }
  },
  TANH {
    @Override
    public float apply(float z) {
      return (float) StrictMath.tanh(z);
    }

    @Override
    public double applyDouble(double z) {
      return StrictMath.tanh(z);
    }

    @Override
    public float derivativeFromOutput(float a) {
      return 1f - a * a;
    }
  },
  IDENTITY {
    @Override
    public float apply(float z) {
      return z;
    }

    @Override
    public double applyDouble(double z) {
      return z;
    }

    @Override
    public float derivativeFromOutput(float a) {
      return 1f;
    }
  };

  /** {@code a = f(z)}. */
  public abstract float apply(float z);

  /** {@code a = f(z)} in double, unrounded to float (gradcheck's finite differences). */
  public abstract double applyDouble(double z);

  /** {@code da/dz} expressed through the output {@code a = f(z)}. */
  public abstract float derivativeFromOutput(float a);

  /** Applies f in place to {@code v[from, to)}. */
  public void applyInPlace(float[] v, int from, int to) {
    for (int i = from; i < to; i++) {
      v[i] = apply(v[i]);
    }
  }

  /** Lower-case name as written on the command line and in files. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Parses {@code sigmoid|relu|tanh|identity} (case-insensitive).
   *
   * @throws IllegalArgumentException naming the value and the accepted ones
   */
  public static Activation parse(String text) {
    for (Activation a : values()) {
      if (a.id().equalsIgnoreCase(text.trim())) {
        return a;
      }
    }
    throw new IllegalArgumentException(
        "unknown activation '" + text + "': expected one of sigmoid, relu, tanh, identity");
  }
}
