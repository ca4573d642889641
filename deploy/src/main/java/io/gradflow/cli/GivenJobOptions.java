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

  /** The model options: a worker that gives one has the whole job checked by the server. */
  static final Set<String> MODEL_OPTIONS = Set.of("--model", "--activation", "--init");

  /** The {@link JobFingerprint#differences} field each training option sets. */
  private static final Map<String, String> FIELD_OF_OPTION = Map.ofEntries(
      Map.entry("--dataset", "dataset"),
      Map.entry("--batch", "batch"),
      Map.entry("--micro-shards", "micro-shards"),
      Map.entry("--lr", "lr"),
      Map.entry("--momentum", "momentum"),
      Map.entry("--weight-decay", "weight decay"),
      Map.entry("--schedule", "schedule"),
      Map.entry("--warmup", "warm-up"),
      Map.entry("--step-size", "step size"),
      Map.entry("--gamma", "gamma"),
      Map.entry("--epochs", "epochs"),
      Map.entry("--max-steps", "max steps"),
      Map.entry("--seed", "seed"),
      Map.entry("--kernels", "kernels"),
      Map.entry("--push-precision", "push precision"));

  /**
   * How the server's training config differs from the worker's in the options given ({@code
   * given}: long option names): "lr: 0.05 (server) vs 0.1 (worker)", one entry a field.
   */
  static List<String> differences(Set<String> given, TrainingConfig server, TrainingConfig worker, ModelSpec spec) {
    var specProto = ModelSpecs.toProto(spec);
    List<String> out = new ArrayList<>();
    for (String diff : JobFingerprint.differences(specProto, server.toProto(), specProto, worker.toProto())) {
      String field = diff.substring(0, diff.indexOf(':'));
      for (String option : given) {
        if (field.equals(FIELD_OF_OPTION.get(option))) {
          out.add(diff);
        }
      }
    }
    return out;
  }
}
