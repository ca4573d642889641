package io.gradflow.cli;

import io.gradflow.common.optim.LearningRateSchedule;
import picocli.CommandLine.Option;

/** The optimizer: learning rate and its schedule, momentum, weight decay. */
final class OptimizerOptions {
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

  @Option(names = "--gamma", paramLabel = "G", description = "For --schedule step: decay factor, in (0, 1] (default: ${DEFAULT-VALUE}).")
  double gamma = 0.1;

  /** The schedule's kind; an unknown one is an {@link IllegalArgumentException}. */
  LearningRateSchedule.Kind scheduleKind() {
    return LearningRateSchedule.Kind.parse(schedule);
  }

  /**
   * Checks what {@code TrainingConfig} leaves to its user: the learning rate a finite number > 0,
   * momentum in [0, 1), weight decay a finite number >= 0, gamma (a decay factor) in (0, 1]. NaN and
   * infinities fail every check.
   */
  void check() {
    if (!(lr > 0 && Double.isFinite(lr))) {
      throw new IllegalArgumentException("--lr must be a finite number > 0, got " + lr);
    }
    if (!(momentum >= 0 && momentum < 1)) {
      throw new IllegalArgumentException("--momentum must be in [0, 1), got " + momentum);
    }
    if (!(weightDecay >= 0 && Double.isFinite(weightDecay))) {
      throw new IllegalArgumentException("--weight-decay must be a finite number >= 0, got " + weightDecay);
    }
    if (!(gamma > 0 && gamma <= 1)) {
      throw new IllegalArgumentException("--gamma must be a decay factor in (0, 1], got " + gamma);
    }
    if (warmup < 0) {
      throw new IllegalArgumentException("--warmup must be >= 0 steps, got " + warmup);
    }
    if (stepSize < 0) {
      throw new IllegalArgumentException("--step-size must be >= 0 steps (0: one epoch), got " + stepSize);
    }
  }
}
