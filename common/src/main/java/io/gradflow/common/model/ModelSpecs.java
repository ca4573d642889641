package io.gradflow.common.model;

import java.util.ArrayList;
import java.util.List;

/**
 * Conversions between the {@link ModelSpec} record and its proto form {@code
 * gradflow.v1.ModelSpec}: {@code layer_sizes} = the layer sizes, {@code activations} = one id per
 * hidden layer ({@link Activation#id()}), {@code init} = {@link ModelSpec.Init#id()}, {@code seed}
 * = the seed (a uint64 on the wire holding the long's 64 bits).
 */
public final class ModelSpecs {
  private ModelSpecs() {}

  /** The proto form of {@code spec}. */
  public static io.gradflow.proto.ModelSpec toProto(ModelSpec spec) {
    io.gradflow.proto.ModelSpec.Builder b =
        io.gradflow.proto.ModelSpec.newBuilder().setSeed(spec.seed()).setInit(spec.init().id());
    for (int size : spec.layerSizes()) {
      b.addLayerSizes(size);
    }
    for (Activation a : spec.activations()) {
      b.addActivations(a.id());
    }
    return b.build();
  }

  /**
   * The record form of {@code proto}.
   *
   * @throws IllegalArgumentException if it is not a valid spec (unknown activation or init, bad
   *     sizes, activation count that does not match the sizes), with the reason
   */
  public static ModelSpec fromProto(io.gradflow.proto.ModelSpec proto) {
    int[] sizes = new int[proto.getLayerSizesCount()];
    for (int i = 0; i < sizes.length; i++) {
      sizes[i] = proto.getLayerSizes(i);
    }
    List<Activation> acts = new ArrayList<>();
    for (String a : proto.getActivationsList()) {
      acts.add(Activation.parse(a));
    }
    return new ModelSpec(sizes, acts, ModelSpec.Init.parse(proto.getInit()), proto.getSeed());
  }
}
