package io.gradflow.cli;

import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.wire.PushPrecision;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The options that define a training job: model, data and hyper-parameters. Shared by {@code
 * train} and {@code server}, so both build the same {@link ModelSpec} and {@link TrainingConfig}.
 */
public final class JobOptions {
  @Spec(Spec.Target.MIXEE)
  CommandSpec spec;

  @Option(names = "--model", paramLabel = "SIZES", description = "Layer sizes, inputs first (default: ${DEFAULT-VALUE}).")
  String model = "784-256-128-10";

  @Option(
      names = "--activation",
      paramLabel = "F",
      description = "Hidden activation: sigmoid, relu, tanh or identity; or one per hidden layer, comma-separated (default: ${DEFAULT-VALUE}).")
  String activation = "relu";

  @Option(names = "--init", paramLabel = "SCHEME", description = "Weight initialisation: he or xavier (default: he for relu, xavier otherwise).")
  String init = "";

  @Option(
      names = "--dataset",
      paramLabel = "D",
      description = "fashion-mnist, mnist, idx:DIR, csv:TRAIN[,TEST], spirals[:ARMS[:POINTS]] or blobs[:CLASSES[:POINTS[:FEATURES]]] (default: ${DEFAULT-VALUE}).")
  String dataset = "fashion-mnist";

  @Option(names = "--data-dir", paramLabel = "DIR", description = "Where to look for data sets after /usr/share/datasets (then $GRADFLOW_DATA).")
  Path dataDir;

  @Option(names = "--epochs", paramLabel = "N", description = "Passes over the training set (default: ${DEFAULT-VALUE}).")
  int epochs = 10;

  @Option(names = "--max-steps", paramLabel = "N", description = "Stop after N steps (0: no limit; default: ${DEFAULT-VALUE}).")
  long maxSteps = 0;

  @Option(names = "--batch", paramLabel = "B", description = "Global minibatch size; 1 is SGD, the training set size is full-batch GD (default: ${DEFAULT-VALUE}).")
  int batch = 128;

  @Option(
      names = "--micro-shards",
      paramLabel = "M",
      description = "Fixed micro-shards the global batch is cut into; workers own contiguous ranges, so results do not depend on the worker count (default: 8, or the batch when smaller).")
  Integer microShards;

  @Option(names = "--lr", paramLabel = "RATE", description = "Base learning rate (default: ${DEFAULT-VALUE}).")
  double lr = 0.05;

  @Option(names = "--momentum", paramLabel = "MU", description = "Momentum (default: ${DEFAULT-VALUE}).")
  double momentum = 0.9;

  @Option(names = "--weight-decay", paramLabel = "LAMBDA", description = "L2 weight decay on weights, not biases (default: ${DEFAULT-VALUE}).")
  double weightDecay = 0.0005;

  @Option(names = "--schedule", paramLabel = "S", description = "Learning-rate schedule: constant, step or cosine (default: ${DEFAULT-VALUE}).")
  String schedule = "cosine";

  @Option(names = "--warmup", paramLabel = "STEPS", description = "Linear warm-up steps (default: ${DEFAULT-VALUE}).")
  int warmup = 0;

  @Option(names = "--step-size", paramLabel = "STEPS", description = "For --schedule step: decay every STEPS steps (default: one epoch).")
  int stepSize = 0;

  @Option(names = "--gamma", paramLabel = "G", description = "For --schedule step: decay factor (default: ${DEFAULT-VALUE}).")
  double gamma = 0.1;

  @Option(names = "--seed", paramLabel = "N", description = "Seed of initialisation and sampling (default: ${DEFAULT-VALUE}).")
  long seed = 1;

  @Option(names = "--kernels", paramLabel = "K", description = "Kernel implementation: vector (512- or 256-bit vectors, whichever the CPU runs fast; the same bits; also named vector-512 or vector-256) or ejml (default: vector).")
  String kernels = Kernels.DEFAULT;

  @Option(
      names = "--push-precision",
      paramLabel = "P",
      description = "How workers push gradients: fp32 (exact; the same bits for any worker count) or bf16 (half the bytes;"
          + " each worker's sum rounded to bfloat16, so the bits depend on the worker count; needs worker processes)"
          + " (default: ${DEFAULT-VALUE}).")
  String pushPrecision = PushPrecision.FP32.id();

  /** Default number of micro-shards: 8, or the batch when it is smaller. */
  static final int DEFAULT_MICRO_SHARDS = 8;

  /**
   * True when the command line gave any option that defines the job ({@code --data-dir} only says
   * where the data is): then a worker's or a resumed server's job must agree with it.
   */
  boolean givenExplicitly() {
    CommandSpec command = spec.commandLine().getCommandSpec();
    for (picocli.CommandLine.Model.OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
      if (!o.longestName().equals("--data-dir") && command.mixins().get("job").options().contains(o)) {
        return true;
      }
    }
    return false;
  }

  /** These options as command-line arguments, to hand the same job to a child process. */
  java.util.List<String> toArgs() {
    java.util.List<String> a = new java.util.ArrayList<>(java.util.List.of(
        "--model", model,
        "--activation", activation,
        "--dataset", dataset,
        "--epochs", Integer.toString(epochs),
        "--max-steps", Long.toString(maxSteps),
        "--batch", Integer.toString(batch),
        "--lr", Double.toString(lr),
        "--momentum", Double.toString(momentum),
        "--weight-decay", Double.toString(weightDecay),
        "--schedule", schedule,
        "--warmup", Integer.toString(warmup),
        "--step-size", Integer.toString(stepSize),
        "--gamma", Double.toString(gamma),
        "--seed", Long.toString(seed),
        "--kernels", kernels,
        "--push-precision", pushPrecision));
    if (microShards != null) {
      a.addAll(java.util.List.of("--micro-shards", Integer.toString(microShards)));
    }
    if (!init.isEmpty()) {
      a.addAll(java.util.List.of("--init", init));
    }
    if (dataDir != null) {
      a.addAll(java.util.List.of("--data-dir", dataDir.toAbsolutePath().toString()));
    }
    return a;
  }

  /** The model spec these options describe; a bad value is a usage error. */
  ModelSpec modelSpec() {
    try {
      return ModelSpec.parse(model, activation, init, seed);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
  }

  private PushPrecision parsePushPrecision() {
    try {
      return PushPrecision.parse(pushPrecision);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--push-precision " + pushPrecision + ": expected fp32 or bf16");
    }
  }

  /** The hyper-parameters; a bad value is a usage error. */
  TrainingConfig trainingConfig() {
    try {
      Kernels.byName(kernels);
      LearningRateSchedule.Kind kind = LearningRateSchedule.Kind.parse(schedule);
      int shards = microShards != null ? microShards : Math.min(DEFAULT_MICRO_SHARDS, batch);
      TrainingConfig config =
          new TrainingConfig(
              dataset,
              batch,
              shards,
              lr,
              momentum,
              weightDecay,
              kind,
              warmup,
              stepSize,
              gamma,
              epochs,
              maxSteps,
              seed,
              Kernels.canonicalName(kernels),
              parsePushPrecision());
      config.scheduleFor(1, 1); // validates the learning rate and schedule
      if (momentum < 0 || momentum >= 1) {
        throw new IllegalArgumentException("--momentum must be in [0, 1), got " + momentum);
      }
      if (weightDecay < 0) {
        throw new IllegalArgumentException("--weight-decay must be >= 0, got " + weightDecay);
      }
      return config;
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
  }
}
