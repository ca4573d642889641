package io.gradflow.common.report;

import java.nio.file.Path;

/**
 * {@code summary.json}, what a finished job reports: the result, the run's size and speed, the
 * model and the hyper-parameters. Fields are these components in {@code snake_case}.
 *
 * @param epochs steps over steps per epoch (fractional when the job stopped mid-epoch)
 * @param workers 0 for the single-process trainer
 * @param wallSeconds from the command's start, everything included
 * @param trainSeconds training only, evaluation left out
 * @param samplesPerSecond over every step
 * @param steadySamplesPerSecond leaving out the first fifth of the steps (at most 20), while the
 *     JIT compiles the kernels
 * @param pushPrecision {@code fp32} or {@code bf16}; {@code none} for a single process
 * @param staleness the job's staleness K (0: synchronous SGD)
 * @param weightsSha256 SHA-256 of the final weights: equal for equal jobs, to the bit
 */
public record RunSummary(
    double testAccuracy,
    double testLoss,
    double trainLoss,
    double epochs,
    long steps,
    int workers,
    long globalBatch,
    int microShards,
    double wallSeconds,
    double trainSeconds,
    double samplesPerSecond,
    double steadySamplesPerSecond,
    String model,
    String activation,
    long parameters,
    String dataset,
    double learningRate,
    double momentum,
    double weightDecay,
    String schedule,
    long seed,
    String kernels,
    String pushPrecision,
    int staleness,
    String weightsSha256) {

  /** The summary.json file of the job directory {@code dir}. */
  public static Path file(Path dir) {
    return dir.resolve("summary.json");
  }

  /** Reads a summary.json. */
  public static RunSummary read(Path file) {
    return Json.read(file, RunSummary.class);
  }

  /** Writes this as {@code file} atomically, one field per line. */
  public void write(Path file) {
    Json.writePretty(file, this);
  }
}
