package io.gradflow.cli;

import io.gradflow.common.report.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What {@code bench} takes from a finished run's output directory: the steady throughput from
 * {@code summary.json} and, for a distributed run, the step's time split and wire bytes from
 * {@code timing.json}. {@link #read} is the one place that reads those files.
 *
 * @param steadySamplesPerSecond samples/s after the JIT warm-up steps, evaluation left out
 * @param timing the server's timing, absent for a single-process run
 */
record RunResults(double steadySamplesPerSecond, Optional<Timing> timing) {

  /** {@code timing.json}: the means per step of the measured steps, and the bytes on the wire. */
  record Timing(long stepsMeasured, double measuredSeconds, double computeMs, double pushMs, double waitMs,
      double weightsBackMs, double serverReduceMs, double serverUpdateMs, double bytesPerWorkerPerStep,
      double wireToParameterRatio) {}

  /** Reads the results of the run whose {@code --out} was {@code dir}. */
  static RunResults read(Path dir) throws IOException {
    String summary = Files.readString(dir.resolve("summary.json"));
    double steady = Double.parseDouble(Json.field(summary, "steady_samples_per_second"));
    Path timingFile = dir.resolve("timing.json");
    if (!Files.exists(timingFile)) {
      return new RunResults(steady, Optional.empty());
    }
    String t = Files.readString(timingFile);
    return new RunResults(steady, Optional.of(new Timing(
        Long.parseLong(Json.field(t, "steps_measured")),
        Double.parseDouble(Json.field(t, "measured_seconds")),
        Double.parseDouble(Json.field(t, "compute_ms")),
        Double.parseDouble(Json.field(t, "push_ms")),
        Double.parseDouble(Json.field(t, "wait_ms")),
        Double.parseDouble(Json.field(t, "weights_back_ms")),
        Double.parseDouble(Json.field(t, "server_reduce_ms")),
        Double.parseDouble(Json.field(t, "server_update_ms")),
        Double.parseDouble(Json.field(t, "bytes_per_worker_per_step")),
        Double.parseDouble(Json.field(t, "wire_to_parameter_ratio")))));
  }
}
