package io.gradflow.common.wire;

import java.util.Locale;

/**
 * How workers push gradients, a job-level setting chosen by the server and part of the job's
 * fingerprint (so a worker cannot push another format than the job's).
 *
 * <ul>
 *   <li>{@link #FP32}, the default: exact. One micro-shard goes as its float32 gradient, several as
 *       their exact fixed-point sum; the weights are the same bits for any worker count and the same
 *       as the single-process trainer.
 *   <li>{@link #BF16}: each worker rounds its fixed-point sum once to bfloat16 (2 bytes an element
 *       instead of 4 or ~5); the server sums the received values exactly in fixed point as before.
 *       Deterministic for a given worker count and micro-shard assignment, but not bit-identical
 *       across worker counts or with the single process: the rounding applies to each worker's
 *       group of micro-shards.
 * </ul>
 */
public enum PushPrecision {
  FP32("fp32"),
  BF16("bf16");

  private final String id;

  PushPrecision(String id) {
    this.id = id;
  }

  /** The name on the command line and in the job's configuration: {@code fp32} or {@code bf16}. */
  public String id() {
    return id;
  }

  /**
   * Parses {@code fp32} or {@code bf16} (any case); the empty string is {@code fp32}, what a job
   * configuration from before this setting existed means.
   *
   * @throws IllegalArgumentException for anything else
   */
  public static PushPrecision parse(String s) {
    String v = s.strip().toLowerCase(Locale.ROOT);
    if (v.isEmpty()) {
      return FP32;
    }
    for (PushPrecision p : values()) {
      if (p.id.equals(v)) {
        return p;
      }
    }
    throw new IllegalArgumentException("push precision '" + s + "': expected fp32 or bf16");
  }
}
