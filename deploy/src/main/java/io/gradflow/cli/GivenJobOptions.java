package io.gradflow.cli;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.ModelSpecs;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.wire.JobFingerprint;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A worker's job options compared with the server's job: only the options given on the worker's
 * command line count, so an option left at its default never refuses a worker.
 */
final class GivenJobOptions {
  private GivenJobOptions() {}

  /** The {@link JobFingerprint#differences} fields each job option sets. */
  private static final Map<String, String> OPTION_OF_FIELD = Map.ofEntries(
      Map.entry("model", "--model"),
      Map.entry("activations", "--activation"),
      Map.entry("init", "--init"),
      Map.entry("init seed", "--seed"),
      Map.entry("dataset", "--dataset"),
      Map.entry("batch", "--batch"),
      Map.entry("micro-shards", "--micro-shards"),
      Map.entry("lr", "--lr"),
      Map.entry("momentum", "--momentum"),
      Map.entry("weight decay", "--weight-decay"),
      Map.entry("schedule", "--schedule"),
      Map.entry("warm-up", "--warmup"),
      Map.entry("step size", "--step-size"),
      Map.entry("gamma", "--gamma"),
      Map.entry("epochs", "--epochs"),
      Map.entry("max steps", "--max-steps"),
      Map.entry("seed", "--seed"),
      Map.entry("kernels", "--kernels"),
      Map.entry("push precision", "--push-precision"),
      Map.entry("staleness", "--staleness"));

  /**
   * How the server's job differs from the worker's in the options given ({@code given}: long
   * option names): "lr: 0.05 (server) vs 0.1 (worker)", one entry a field. The worker's model is
   * the server's with the model options given here put in: {@code --activation relu} alone is
   * compared with the server's activations on the server's layer sizes.
   */
  static List<String> differences(Set<String> given, ModelSpec serverSpec, TrainingConfig server, JobOptions worker) {
    ModelSpec workerSpec;
    String model = given.contains("--model") ? worker.model.model : serverSpec.sizesText();
    String activation = given.contains("--activation") ? worker.model.activation : serverSpec.activationText();
    String init = given.contains("--init") ? worker.model.init : serverSpec.init().id();
    long seed = given.contains("--seed") ? worker.seed : serverSpec.seed();
    try {
      workerSpec = ModelSpec.parse(model, activation, init, seed);
    } catch (IllegalArgumentException e) {
      return List.of("model " + model + " with activations " + activation + " (server model "
          + serverSpec.sizesText() + ", activations " + serverSpec.activationText() + "): " + e.getMessage());
    }
    List<String> out = new ArrayList<>();
    for (String diff : JobFingerprint.differences(ModelSpecs.toProto(serverSpec), server.toProto(),
        ModelSpecs.toProto(workerSpec), worker.trainingConfig().toProto())) {
      String field = diff.substring(0, diff.indexOf(':'));
      if (given.contains(OPTION_OF_FIELD.get(field))) {
        out.add(diff);
      }
    }
    return out;
  }
}
