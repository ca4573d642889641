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
 * @param servers with sharded servers ({@code train --servers S}), each server's bytes and reduce and
 *     update times, server 0 (the coordinator) first; empty with one server
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
    List<Worker> workers,
    List<Server> servers) {

  /**
   * One worker's mean milliseconds per push after the warm-up.
   *
   * @param pushes pushes in the means
   */
  public record Worker(String workerId, long pushes, double computeMs, double pushMs, double waitMs, double weightsBackMs) {}

  /**
   * One server of a job with sharded servers: the parameters of its range, its bytes on the wire,
   * and its mean milliseconds per step staging and adding pushes and in the update (all steps).
   */
  public record Server(int index, long parameters, long bytesIn, long bytesOut, double reduceMs, double updateMs) {}

  public RunTiming {
    workers = workers == null ? List.of() : List.copyOf(workers);
    servers = servers == null ? List.of() : List.copyOf(servers);
  }

  /** A timing of one server. */
  public RunTiming(long stepsMeasured, double measuredSeconds, double computeMs, double pushMs, double waitMs,
      double weightsBackMs, double serverReduceMs, double serverUpdateMs, long bytesIn, long bytesOut,
      double bytesPerWorkerPerStep, long parameterBytes, double wireToParameterRatio, List<Worker> workers) {
    this(stepsMeasured, measuredSeconds, computeMs, pushMs, waitMs, weightsBackMs, serverReduceMs, serverUpdateMs, bytesIn,
        bytesOut, bytesPerWorkerPerStep, parameterBytes, wireToParameterRatio, workers, List.of());
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
