package io.gradflow.cli;

import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.report.Json;
import io.gradflow.common.report.MetricsLog;
import io.gradflow.common.report.RunTiming;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.wire.PushPrecision;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code gradflow bench} without {@code --kernels}: a real training job on synthetic data
 * (Gaussian blobs shaped like the model), in this process or with local worker processes, and
 * what it measured: samples/s, where a step's time goes, bytes on the wire, the kernels' GFLOP/s.
 *
 * @param servers the parameter server processes the parameters are sharded over ({@code train --servers S}); 1 unsharded
 * @param kernels the kernel implementation, as named on the command line
 * @param targetLoss a training loss to time the run to ({@code seconds_to_loss}); NaN for none
 * @param sharedMemory whether the server offers its workers the shared-memory data plane
 * @param unixSocket whether the workers reach the server through a Unix domain socket (else loopback TCP)
 * @param staleness the job's staleness K (0: synchronous)
 * @param pushThread whether the workers push on a thread of their own ({@code --push-thread}); null: as train decides
 */
record JobBench(ModelSpec spec, int batch, int microShards, int workers, int servers, int steps, String kernels,
    PushPrecision precision, double targetLoss, boolean sharedMemory, boolean unixSocket, int staleness, Boolean pushThread) {

  /** Steps between the metrics records {@code seconds_to_loss} is read from. */
  private static final int LOSS_LOG_EVERY = 10;

  /** The learning rate of the bench job: small enough that no model shape diverges. */
  private static final double LEARNING_RATE = 0.01;

  /** Runs the job and prints its figures, as text or as one JSON object. */
  int run(PrintWriter out, boolean json) throws IOException, InterruptedException {
    Json result = measure();
    if (json) {
      out.println(result);
    } else {
      print(out, result, (double) result.get("samples_per_second"), flopsPerSample(spec));
    }
    return ExitCode.OK.code();
  }

  /** Runs the job; returns its figures as the fields {@code --json} prints. */
  Json measure() throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("gradflow-bench");
    RunResults results;
    double secondsToLoss;
    try {
      results = train(dir);
      secondsToLoss = Double.isNaN(targetLoss) ? Double.NaN : secondsToLoss(MetricsLog.read(MetricsLog.file(dir)));
    } finally {
      OutputPaths.deleteTree(dir);
    }
    double samplesPerSecond = results.summary().steadySamplesPerSecond();
    double flopsPerSample = flopsPerSample(spec);
    Json result = new Json()
        .put("model", spec.sizesText())
        .put("batch", batch)
        .put("workers", workers)
        .put("servers", servers)
        .put("steps", steps)
        .put("kernels", kernels)
        .put("push_precision", workers > 0 ? precision.id() : "none")
        .put("samples_per_second", samplesPerSecond)
        .put("step_ms", 1000.0 * batch / samplesPerSecond)
        .put("parameters", spec.parameterCount())
        .put("staleness", staleness);
    if (results.timing().isPresent()) {
      RunTiming t = results.timing().get();
      if (t.measuredSeconds() > 0 && t.stepsMeasured() > 0) { // after the warm-up steps, as the split
        samplesPerSecond = t.stepsMeasured() * (double) batch / t.measuredSeconds();
        result.put("samples_per_second", samplesPerSecond).put("step_ms", 1000.0 * batch / samplesPerSecond);
      }
      result.put("compute_ms", t.computeMs()).put("push_ms", t.pushMs()).put("wait_ms", t.waitMs())
          .put("weights_back_ms", t.weightsBackMs()).put("server_reduce_ms", t.serverReduceMs())
          .put("server_update_ms", t.serverUpdateMs()).put("bytes_per_worker_per_step", t.bytesPerWorkerPerStep())
          .put("wire_to_parameter_ratio", t.wireToParameterRatio());
      double samplesPerWorker = (double) batch / workers;
      result.put("kernel_gflops", t.computeMs() > 0 ? flopsPerSample * samplesPerWorker / (t.computeMs() * 1e6) : 0.0);
      if (!t.servers().isEmpty()) {
        result.put("server_timings", serverTimings(t.servers()));
      }
    } else {
      result.put("kernel_gflops", flopsPerSample * samplesPerSecond / 1e9);
    }
    if (!Double.isNaN(targetLoss)) {
      result.put("target_loss", targetLoss).put("seconds_to_loss", secondsToLoss);
    }
    return result;
  }

  /**
   * Each sharded server's share: its parameters, its bytes in and out per step (over the whole
   * job, {@code bytes / steps}) and its reduce and update milliseconds per step, from timing.json.
   */
  private List<Json> serverTimings(List<RunTiming.Server> servers) {
    List<Json> out = new ArrayList<>();
    for (RunTiming.Server s : servers) {
      out.add(new Json().put("index", s.index()).put("parameters", s.parameters())
          .put("bytes_in_per_step", (double) s.bytesIn() / steps).put("bytes_out_per_step", (double) s.bytesOut() / steps)
          .put("reduce_ms", s.reduceMs()).put("update_ms", s.updateMs()));
    }
    return out;
  }

  /**
   * Training seconds until a logged step's loss first reached the target: the sum over the step
   * records up to it of {@code (steps since the previous record) * batch / (their samples/s)};
   * NaN when the run never reached it.
   */
  private double secondsToLoss(MetricsLog log) {
    double seconds = 0;
    long previous = 0;
    for (MetricsLog.Step s : log.steps()) {
      if (s.samplesPerSecond() > 0) {
        seconds += (s.step() - previous) * (double) batch / s.samplesPerSecond();
      }
      previous = s.step();
      if (s.loss() <= targetLoss) {
        return seconds;
      }
    }
    return Double.NaN;
  }

  /** The rows of the bench's data set for {@code batch}: ten steps of four batches, at least 20,000. */
  static long points(int batch) {
    return Math.max(40L * batch, 20_000);
  }

  /** Trains the bench job with its files in {@code dir}; returns what the run measured. */
  private RunResults train(Path dir) throws IOException, InterruptedException {
    long points = points(batch);
    // A test set of one row per class: the per-epoch evaluation costs next to nothing in every
    // configuration (the single process's would be subtracted, a server's runs beside training).
    String dataset = "blobs:" + spec.outputSize() + ":" + points + ":" + spec.inputSize() + ":" + spec.outputSize();
    OptimizerOptions optimizer = new OptimizerOptions(); // train's defaults but the learning rate
    TrainingConfig config;
    try {
      config = new TrainingConfig(dataset, batch, microShards, LEARNING_RATE, optimizer.momentum,
          optimizer.weightDecay, optimizer.scheduleKind(), optimizer.warmup, optimizer.stepSize, optimizer.gamma,
          1_000_000, steps, spec.seed(), Kernels.canonicalName(kernels), precision, staleness);
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage(e.getMessage());
    }
    ProgressDisplay silent = new ProgressDisplay(new PrintWriter(Writer.nullWriter()), false, Double.MAX_VALUE);
    int logEvery = Double.isNaN(targetLoss) ? 1_000_000 : LOSS_LOG_EVERY;
    try {
      if (workers == 0) {
        SingleProcessJob.loading(spec, config, () -> DataOptions.load(dataset, null), 1, true).run(dir, logEvery, System.nanoTime(), silent);
      } else {
        RecoveryOptions recovery = new RecoveryOptions();
        recovery.checkpointEvery = 0;
        List<String> serverArgs = new ArrayList<>(List.of("--log-every", Integer.toString(logEvery)));
        serverArgs.addAll(recovery.toArgs());
        if (!sharedMemory) {
          serverArgs.add("--no-shared-memory");
        }
        JobLaunch launch = new JobLaunch(spec, config, null, dir, silent, serverArgs, workerOptions().toArgs(workers));
        new LocalLauncher(launch, new LocalLauncher.Settings(workers, 3, List.of(), unixSocket, 1, servers)).run();
      }
    } catch (CommandFailure f) {
      throw new CommandFailure(f.exitCode() == ExitCode.USAGE ? ExitCode.USAGE : ExitCode.FAILED, "bench job failed: " + f.getMessage());
    }
    return RunResults.read(dir);
  }

  private void print(PrintWriter out, Json result, double samplesPerSecond, double flopsPerSample) {
    out.printf(Locale.ROOT, "bench %s batch %d, %s, kernels %s, %d steps%n", spec.sizesText(), batch,
        workers == 0 ? "single process" : workers + " workers, " + (servers > 1 ? servers + " servers, " : "")
            + "push precision " + precision.id(), kernels, steps);
    if (staleness > 0) {
      out.printf(Locale.ROOT, "  staleness         %d%n", staleness);
    }
    out.printf(Locale.ROOT, "  samples/s         %,.0f%n", samplesPerSecond);
    out.printf(Locale.ROOT, "  step              %.3f ms%n", (double) result.get("step_ms"));
    if (result.get("compute_ms") != null) {
      out.printf(Locale.ROOT, "  per step (means): compute %.3f ms, push %.3f ms, wait for the slowest + server %.3f ms,"
              + " weights back %.3f ms%n", (double) result.get("compute_ms"), (double) result.get("push_ms"),
          (double) result.get("wait_ms"), (double) result.get("weights_back_ms"));
      out.printf(Locale.ROOT, "  server:           reduce %.3f ms, update %.3f ms per step%n",
          (double) result.get("server_reduce_ms"), (double) result.get("server_update_ms"));
      out.printf(Locale.ROOT, "  wire:             %,.0f bytes per worker per step = %.2fx the %,d parameter bytes%n",
          (double) result.get("bytes_per_worker_per_step"), (double) result.get("wire_to_parameter_ratio"),
          4 * spec.parameterCount());
    }
    if (result.get("server_timings") instanceof List<?> servers) {
      for (Object o : servers) {
        Json s = (Json) o;
        out.printf(Locale.ROOT, "  server %d:         %,d parameters, %,.0f B in and %,.0f B out per step, reduce %.3f ms, update %.3f ms%n",
            (int) s.get("index"), (long) s.get("parameters"), (double) s.get("bytes_in_per_step"),
            (double) s.get("bytes_out_per_step"), (double) s.get("reduce_ms"), (double) s.get("update_ms"));
      }
    }
    out.printf(Locale.ROOT, "  kernels           %.1f GFLOP/s (%.2f MFLOP per sample)%n",
        (double) result.get("kernel_gflops"), flopsPerSample / 1e6);
    if (result.get("seconds_to_loss") != null) {
      out.printf(Locale.ROOT, "  to loss %.3f:     %.2f s of training%n", targetLoss, (double) result.get("seconds_to_loss"));
    }
  }

  /**
   * Multiply-add flops of one sample's forward and backward: {@code 2 in out} per layer for
   * {@code Z = X W^T}, as much for {@code dW}, and as much for {@code dX} except in the first
   * layer, whose input gradient nobody needs.
   */
  static double flopsPerSample(ModelSpec s) {
    double flops = 0;
    for (int l = 0; l < s.layerCount(); l++) {
      flops += (l == 0 ? 4.0 : 6.0) * s.fanIn(l) * s.fanOut(l);
    }
    return flops;
  }

  /** The workers' options: train's defaults, with {@code pushThread} when given. */
  private WorkerOptions workerOptions() {
    WorkerOptions options = new WorkerOptions();
    options.pushThread = pushThread;
    return options;
  }
}
