package io.gradflow.common.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The shape of a dense network: layer sizes such as {@code 784-256-128-10}, one activation per
 * hidden layer (the last layer has none and feeds softmax + cross-entropy), an initialisation
 * scheme and its seed.
 */
public record ModelSpec(int[] layerSizes, List<Activation> activations, Init init, long seed) {

  /** Weight initialisation schemes. */
  public enum Init {
    /** He: {@code W ~ N(0, 2 / fan_in)}; the default for relu. */
    HE,
    /** Xavier/Glorot: {@code W ~ N(0, 2 / (fan_in + fan_out))}; the default otherwise. */
    XAVIER;

    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }

    public static Init parse(String text) {
      for (Init i : values()) {
        if (i.id().equalsIgnoreCase(text.trim())) {
          return i;
        }
      }
      throw new IllegalArgumentException(
          "unknown initialisation '" + text + "': expected he or xavier");
    }

    /** He for relu, Xavier for the saturating and linear activations. */
    public static Init defaultFor(Activation a) {
      return a == Activation.RELU ? HE : XAVIER;
    }
  }

  public ModelSpec {
    layerSizes = layerSizes.clone();
    activations = List.copyOf(activations);
    if (layerSizes.length < 2) {
      throw new IllegalArgumentException(
          "model needs at least 2 layer sizes (inputs-outputs), got " + layerSizes.length);
    }
    for (int i = 0; i < layerSizes.length; i++) {
      if (layerSizes[i] <= 0) {
        throw new IllegalArgumentException(
            "layer size " + i + " must be positive, got " + layerSizes[i]);
      }
    }
    if (layerSizes[layerSizes.length - 1] < 2) {
      throw new IllegalArgumentException(
          "the output layer needs at least 2 classes, got " + layerSizes[layerSizes.length - 1]);
    }
    if (activations.size() != layerSizes.length - 2) {
      throw new IllegalArgumentException(
          "expected "
              + (layerSizes.length - 2)
              + " hidden activations for "
              + sizesText(layerSizes)
              + ", got "
              + activations.size());
    }
  }

  /**
   * Parses {@code 784-256-128-10} with one activation for every hidden layer, or a comma list with
   * one per hidden layer ({@code relu,tanh}).
   */
  public static ModelSpec parse(String sizes, String activation, String init, long seed) {
    int[] parsed = parseSizes(sizes);
    List<Activation> acts = parseActivations(activation, parsed.length - 2);
    Init in = init == null || init.isBlank() ? Init.defaultFor(acts.isEmpty() ? Activation.RELU : acts.get(0)) : Init.parse(init);
    return new ModelSpec(parsed, acts, in, seed);
  }

  /** Parses {@code 784-256-128-10}. */
  public static int[] parseSizes(String sizes) {
    String[] parts = sizes.trim().split("-");
    if (parts.length < 2) {
      throw new IllegalArgumentException(
          "model '" + sizes + "': expected layer sizes like 784-256-128-10");
    }
    int[] out = new int[parts.length];
    for (int i = 0; i < parts.length; i++) {
      try {
        out[i] = Integer.parseInt(parts[i].trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "model '" + sizes + "': layer size '" + parts[i] + "' is not a whole number");
      }
      if (out[i] <= 0) {
        throw new IllegalArgumentException(
            "model '" + sizes + "': layer size " + out[i] + " must be positive");
      }
    }
    return out;
  }

  private static List<Activation> parseActivations(String text, int hiddenLayers) {
    String[] parts = text.split(",");
    List<Activation> acts = new ArrayList<>();
    if (parts.length == 1) {
      Activation a = Activation.parse(parts[0]);
      for (int i = 0; i < hiddenLayers; i++) {
        acts.add(a);
      }
    } else {
      if (parts.length != hiddenLayers) {
        throw new IllegalArgumentException(
            "activation '"
                + text
                + "': expected one activation or "
                + hiddenLayers
                + " (one per hidden layer), got "
                + parts.length);
      }
      for (String p : parts) {
        acts.add(Activation.parse(p));
      }
    }
    return acts;
  }

  public int layerCount() {
    return layerSizes.length - 1;
  }

  public int inputSize() {
    return layerSizes[0];
  }

  public int outputSize() {
    return layerSizes[layerSizes.length - 1];
  }

  public int fanIn(int layer) {
    return layerSizes[layer];
  }

  public int fanOut(int layer) {
    return layerSizes[layer + 1];
  }

  /** Activation of dense layer {@code layer}; the last layer is {@link Activation#IDENTITY}. */
  public Activation activation(int layer) {
    return layer < activations.size() ? activations.get(layer) : Activation.IDENTITY;
  }

  /** Total number of trainable parameters. */
  public long parameterCount() {
    long n = 0;
    for (int l = 0; l < layerCount(); l++) {
      n += (long) fanIn(l) * fanOut(l) + fanOut(l);
    }
    return n;
  }

  /** {@code 784-256-128-10}. */
  public String sizesText() {
    return sizesText(layerSizes);
  }

  /** {@code relu} when all hidden layers share one activation, else {@code relu,tanh}. */
  public String activationText() {
    if (activations.isEmpty()) {
      return "identity";
    }
    if (activations.stream().distinct().count() == 1) {
      return activations.get(0).id();
    }
    return String.join(",", activations.stream().map(Activation::id).toList());
  }

  private static String sizesText(int[] sizes) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < sizes.length; i++) {
      if (i > 0) {
        sb.append('-');
      }
      sb.append(sizes[i]);
    }
    return sb.toString();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ModelSpec s
        && Arrays.equals(layerSizes, s.layerSizes)
        && activations.equals(s.activations)
        && init == s.init
        && seed == s.seed;
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(layerSizes) * 31 + activations.hashCode() * 7 + init.hashCode() + Long.hashCode(seed);
  }

  @Override
  public String toString() {
    return sizesText() + " " + activationText() + " init=" + init.id() + " seed=" + seed;
  }
}
