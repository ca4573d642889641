package io.gradflow.cli;

import io.gradflow.common.wire.PushPrecision;
import picocli.CommandLine.Option;

/** {@code --push-precision}: how workers push their gradients. */
final class PushPrecisionOption {
  @Option(
      names = "--push-precision",
      paramLabel = "P",
      description = "How workers push gradients: fp32 (exact; the same bits for any worker count) or bf16 (half the bytes;"
          + " each worker's sum rounded to bfloat16, so the bits depend on the worker count; needs worker processes)"
          + " (default: ${DEFAULT-VALUE}).")
  String pushPrecision = PushPrecision.FP32.id();

  /** The precision; an unknown one is an {@link IllegalArgumentException} naming the option. */
  PushPrecision value() {
    try {
      return PushPrecision.parse(pushPrecision);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--push-precision " + pushPrecision + ": expected fp32 or bf16");
    }
  }

  /**
   * Refuses a lossy precision for a job without worker processes (a usage error): a single
   * process has no wire and sums exactly, so the option would be silently ignored.
   */
  void requireWorkersFor(int workers) {
    PushPrecision p;
    try {
      p = value();
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage(e.getMessage());
    }
    if (workers == 0 && p != PushPrecision.FP32) {
      throw CommandFailure.usage("--push-precision " + pushPrecision
          + " needs worker processes (--workers N, N >= 1): a single-process job has no wire and sums exactly");
    }
  }
}
