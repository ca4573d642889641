package io.gradflow.common.report;

import java.nio.file.Path;
import java.util.List;

/**
 * {@code timing.json} of a distributed job: where a step's time went, as means per step after
 * the warm-up steps, and the bytes on the wire. Fields are these components in {@code
 * snake_case}.
 *
 * @param stepsMeasured steps in the means (the first ones, while the JIT warms up, are left out)
 * @param measuredSeconds wall time of those steps
 * @param computeMs a worker's forward and backward pass
 * @param pushMs a worker sending its push
 * @param waitMs a worker waiting for the slowest push and the server's update
 * @param weightsBackMs the new weights travelling back to a worker
 * @param serverReduceMs the server decoding and adding the pushes of a step
 * @param serverUpdateMs the server's optimizer update and bookkeeping
 * @param bytesPerWorkerPerStep bytes in and out of the server per worker and step
 * @param parameterBytes 4 bytes per parameter: one float copy of the model
 * @param wireToParameterRatio {@code bytesPerWorkerPerStep / parameterBytes}
 * @param workers the worker parts per worker (by worker id); absent in files written before it was
 */
public record RunTiming(
    long stepsMeasured,
    double measuredSeconds,
    double computeMs,
    double pushMs,
    double waitMs,
    double weightsBackMs,
    double serverReduceMs,
    double serverUpdateMs,
    long bytesIn,
    long bytesOut,
    double bytesPerWorkerPerStep,
    long parameterBytes,
    double wireToParameterRatio,
    List<Worker> workers) {

  /**
   * One worker's mean milliseconds per push after the warm-up.
   *
   * @param pushes pushes in the means
   */
  public record Worker(String workerId, long pushes, double computeMs, double pushMs, double waitMs, double weightsBackMs) {}

  public RunTiming {
    workers = workers == null ? List.of() : List.copyOf(workers);
  }

  /** The timing.json file of the job directory {@code dir}. */
  public static Path file(Path dir) {
    return dir.resolve("timing.json");
  }

  /** Reads a timing.json. */
  public static RunTiming read(Path file) {
    return Json.read(file, RunTiming.class);
  }

  /** Writes this as {@code file} atomically, one field per line. */
  public void write(Path file) {
    Json.writePretty(file, this);
  }
}
