package io.gradflow.cli;

import io.gradflow.common.model.ModelSpec;
import picocli.CommandLine.Option;

/** The options that shape a network: {@code --model}, {@code --activation}, {@code --init}. */
final class ModelOptions {
  @Option(names = "--model", paramLabel = "SIZES", description = "Layer sizes, inputs first (default: ${DEFAULT-VALUE}).")
  String model;

  @Option(
      names = "--activation",
      paramLabel = "F",
      description = "Hidden activation: sigmoid, relu, tanh or identity; or one per hidden layer, comma-separated (default: ${DEFAULT-VALUE}).")
  String activation;

  @Option(names = "--init", paramLabel = "SCHEME", description = "Weight initialisation: he or xavier (default: he for relu, xavier otherwise).")
  String init = "";

  /** The defaults of a training job: {@code 784-256-128-10}, relu. */
  ModelOptions() {
    this("784-256-128-10", "relu");
  }

  /** Other defaults, for a command about small nets. */
  ModelOptions(String model, String activation) {
    this.model = model;
    this.activation = activation;
  }

  /** The model spec these options describe, initialised from {@code seed}; a bad value is a usage error. */
  ModelSpec spec(long seed) {
    try {
      return ModelSpec.parse(model, activation, init, seed);
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage(e.getMessage());
    }
  }
}
