package io.gradflow.cli;

import io.gradflow.common.data.DatasetLoader;
import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.train.TrainingConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The options that define a training job: model, data, optimizer, batch, push precision, and
 * the length, seed and kernels of the run. Taken by {@code train}, {@code server}, {@code worker}
 * and {@code submit}, so all build the same {@link ModelSpec} and {@link TrainingConfig}; {@link
 * #argsFor} turns those back into these options for a child process.
 */
public final class JobOptions {
  @Spec(Spec.Target.MIXEE)
  CommandSpec mixee;

  @Mixin ModelOptions model;

  @Mixin DataOptions data;

  @Mixin OptimizerOptions optimizer;

  @Mixin BatchOptions batch;

  @Mixin PushPrecisionOption push;

  @Mixin StalenessOption staleness;

  @Option(names = "--epochs", paramLabel = "N", description = "Passes over the training set (default: ${DEFAULT-VALUE}).")
  int epochs = 10;

  @Option(names = "--max-steps", paramLabel = "N", description = "Stop after N steps (0: no limit; default: ${DEFAULT-VALUE}).")
  long maxSteps = 0;

  @Option(names = "--seed", paramLabel = "N", description = "Seed of initialisation and sampling (default: ${DEFAULT-VALUE}).")
  long seed = 1;

  @Option(names = "--kernels", paramLabel = "K", description = "Kernel implementation: vector (512- or 256-bit vectors, whichever the CPU runs fast; the same bits; also named vector-512 or vector-256) or ejml (default: vector).")
  String kernels = Kernels.DEFAULT;

  /**
   * True when the command line gave any option that defines the job ({@code --data-dir} only says
   * where the data is): then a worker's or a resumed server's job must agree with it.
   */
  boolean givenExplicitly() {
    return !given().isEmpty();
  }

  /** The long names of the job options given on the command line ({@code --data-dir} aside). */
  java.util.Set<String> given() {
    CommandSpec self = mixee.mixins().values().stream()
        .filter(m -> m.userObject() == this).findFirst().orElseThrow();
    List<OptionSpec> jobOptions = self.options();
    java.util.Set<String> names = new java.util.TreeSet<>();
    for (OptionSpec o : mixee.commandLine().getParseResult().matchedOptions()) {
      if (!o.longestName().equals("--data-dir") && jobOptions.contains(o)) {
        names.add(o.longestName());
      }
    }
    return names;
  }

  /** The model spec these options describe; a bad value is a usage error. */
  ModelSpec modelSpec() {
    return model.spec(seed);
  }

  /** The hyper-parameters; a bad value is a usage error. */
  TrainingConfig trainingConfig() {
    try {
      Kernels.byName(kernels);
      DatasetLoader.checkForm(data.dataset);
      optimizer.check();
      TrainingConfig config =
          new TrainingConfig(
              data.dataset,
              batch.batch,
              batch.microShards(),
              optimizer.lr,
              optimizer.momentum,
              optimizer.weightDecay,
              optimizer.scheduleKind(),
              optimizer.warmup,
              optimizer.stepSize,
              optimizer.gamma,
              epochs,
              maxSteps,
              seed,
              Kernels.canonicalName(kernels),
              push.value(),
              staleness.value());
      config.scheduleFor(1, 1); // validates the learning rate and schedule
      return config;
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage(e.getMessage());
    }
  }

  /**
   * The options that give a child process the job of {@code spec} and {@code config} (and the
   * data directory, when there is one): the inverse of {@link #modelSpec} and {@link
   * #trainingConfig}. A new job option must be added here too.
   */
  static List<String> argsFor(ModelSpec spec, TrainingConfig config, Path dataDir) {
    if (spec.seed() != config.seed()) {
      throw new IllegalArgumentException("--seed is one option: model seed " + spec.seed()
          + " differs from the training seed " + config.seed());
    }
    List<String> a = new ArrayList<>(List.of(
        "--model", spec.sizesText(),
        "--activation", spec.activationText(),
        "--dataset", config.dataset(),
        "--epochs", Integer.toString(config.epochs()),
        "--max-steps", Long.toString(config.maxSteps()),
        "--batch", Integer.toString(config.batch()),
        "--lr", Double.toString(config.learningRate()),
        "--momentum", Double.toString(config.momentum()),
        "--weight-decay", Double.toString(config.weightDecay()),
        "--schedule", config.schedule().id(),
        "--warmup", Integer.toString(config.warmupSteps()),
        "--step-size", Integer.toString(config.stepSize()),
        "--gamma", Double.toString(config.stepGamma()),
        "--seed", Long.toString(config.seed()),
        "--kernels", config.kernels(),
        "--push-precision", config.pushPrecision().id(),
        "--micro-shards", Integer.toString(config.microShards()),
        "--init", spec.init().id()));
    if (config.staleness() != 0) {
      a.addAll(List.of("--staleness", Integer.toString(config.staleness())));
    }
    if (dataDir != null) {
      a.addAll(List.of("--data-dir", dataDir.toAbsolutePath().toString()));
    }
    return a;
  }
}
