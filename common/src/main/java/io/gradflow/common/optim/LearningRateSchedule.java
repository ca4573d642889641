package io.gradflow.common.optim;

import java.util.Locale;

/**
 * The learning rate at step {@code t} (0-based) of a job of {@code T} steps, from a base rate
 * {@code lr}:
 *
 * <ul>
 *   <li>constant: {@code lr}
 *   <li>step: {@code lr * gamma^floor(t / stepSize)}
 *   <li>cosine: {@code lr * (1 + cos(pi * t / T)) / 2}
 * </ul>
 *
 * With {@code warmup > 0} the first {@code warmup} steps ramp linearly, {@code lr_t * (t + 1) /
 * warmup} (the large-batch recipe of Goyal et al.), and cosine decays over the remaining steps.
 * Computed in double with {@link StrictMath}, then rounded to float once, so every process
 * computes the same rate.
 */
public record LearningRateSchedule(
    Kind kind, double baseRate, long totalSteps, int warmupSteps, int stepSize, double gamma) {

  /** The decay shapes. */
  public enum Kind {
    CONSTANT,
    STEP,
    COSINE;

    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }

    public static Kind parse(String text) {
      for (Kind k : values()) {
        if (k.id().equalsIgnoreCase(text.trim())) {
          return k;
        }
      }
      throw new IllegalArgumentException(
          "unknown schedule '" + text + "': expected constant, step or cosine");
    }
  }

  public LearningRateSchedule {
    if (!(baseRate > 0) || !Double.isFinite(baseRate)) {
      throw new IllegalArgumentException("learning rate must be a finite number > 0, got " + baseRate);
    }
    if (warmupSteps < 0) {
      throw new IllegalArgumentException("warm-up steps must be >= 0, got " + warmupSteps);
    }
    if (kind == Kind.STEP && stepSize <= 0) {
      throw new IllegalArgumentException("step schedule needs a step size > 0, got " + stepSize);
    }
  }

  public static LearningRateSchedule constant(double lr) {
    return new LearningRateSchedule(Kind.CONSTANT, lr, 1, 0, 1, 1.0);
  }

  /** The rate for 0-based step {@code t}. */
  public float rate(long t) {
    double lr = baseRate;
    switch (kind) {
      case CONSTANT -> {}
      case STEP -> lr *= StrictMath.pow(gamma, Math.floorDiv(t, (long) stepSize));
      case COSINE -> {
        long span = Math.max(1, totalSteps - warmupSteps);
        double progress = Math.min(1.0, Math.max(0.0, (double) (t - warmupSteps) / span));
        lr *= 0.5 * (1.0 + StrictMath.cos(Math.PI * progress));
      }
    }
    if (t < warmupSteps) {
      lr *= (double) (t + 1) / warmupSteps;
    }
    return (float) lr;
  }
}
