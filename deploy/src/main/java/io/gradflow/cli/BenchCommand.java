package io.gradflow.cli;

import io.gradflow.common.kernels.DenseKernels;
import io.gradflow.common.kernels.EjmlKernels;
import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.kernels.VectorKernels;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.report.Json;
import io.gradflow.common.report.RunSummary;
import io.gradflow.common.report.RunTiming;
import io.gradflow.common.util.SplitMix64;
import io.gradflow.common.wire.PushPrecision;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code gradflow bench}: a real training job on synthetic data (Gaussian blobs shaped like the
 * model) that reports samples/s, where a step's time goes, bytes on the wire and the kernels'
 * GFLOP/s; or, with {@code --kernels}, each dense-layer product timed against EJML on the same
 * shapes in the same run.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "Measure training throughput on synthetic data, or (--kernels) the kernels against EJML.")
final class BenchCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--workers", paramLabel = "N", description = "Worker processes (0: single process; default: ${DEFAULT-VALUE}).")
  int workers = 2;

  @Option(names = "--model", paramLabel = "SIZES", description = "Layer sizes (default: ${DEFAULT-VALUE}).")
  String model = "784-256-128-10";

  @Option(names = "--activation", paramLabel = "F", description = "Hidden activation (default: ${DEFAULT-VALUE}).")
  String activation = "relu";

  @Option(names = "--batch", paramLabel = "B", description = "Global batch (default: ${DEFAULT-VALUE}).")
  int batch = 128;

  @Option(names = "--micro-shards", paramLabel = "M", description = "Micro-shards (default: 8, or the batch when smaller).")
  Integer microShards;

  @Option(names = "--steps", paramLabel = "K", description = "Steps to run; the first fifth (at most 20) warm up and are not timed (default: ${DEFAULT-VALUE}).")
  int steps = 600;

  @Option(names = "--kernels", description = "Time each kernel against EJML on the model's layer shapes instead of running a job.")
  boolean kernelsOnly;

  @Option(names = "--kernel-impl", paramLabel = "K", description = "Kernel implementation to measure (default: ${DEFAULT-VALUE}).")
  String kernelImpl = Kernels.DEFAULT;

  @Option(names = "--repeats", paramLabel = "R", description = "With --kernels: timed repetitions per kernel; the median is reported (default: ${DEFAULT-VALUE}).")
  int repeats = 7;

  @Option(names = "--push-precision", paramLabel = "P", description = "How workers push gradients: fp32 or bf16, as for train (default: ${DEFAULT-VALUE}).")
  String pushPrecision = PushPrecision.FP32.id();

  @Option(names = "--json", description = "Print one JSON object.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    ModelSpec modelSpec;
    PushPrecision precision;
    try {
      modelSpec = ModelSpec.parse(model, activation, "", 1);
      Kernels.byName(kernelImpl);
      precision = PushPrecision.parse(pushPrecision);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    if (precision != PushPrecision.FP32 && workers == 0 && !kernelsOnly) {
      throw new ParameterException(spec.commandLine(), "--push-precision " + pushPrecision
          + " needs worker processes (--workers N, N >= 1): a single-process job has no wire");
    }
    pushPrecision = precision.id();
    if (batch <= 0 || steps <= 0 || repeats <= 0 || workers < 0) {
      throw new ParameterException(spec.commandLine(), "--batch, --steps and --repeats must be positive, --workers >= 0");
    }
    return kernelsOnly ? benchKernels(modelSpec) : benchJob(modelSpec);
  }

  // ---------------------------------------------------------------------------------------------
  // A real job.

  private int benchJob(ModelSpec modelSpec) throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    Path dir = Files.createTempDirectory("gradflow-bench");
    int points = Math.max(4 * batch * 10, 20_000);
    String dataset = "blobs:" + modelSpec.outputSize() + ":" + points + ":" + modelSpec.inputSize();
    List<String> args = new ArrayList<>(List.of("train", "--workers", Integer.toString(workers),
        "--dataset", dataset, "--model", model, "--activation", activation, "--batch", Integer.toString(batch),
        "--max-steps", Integer.toString(steps), "--epochs", "1000000", "--lr", "0.01", "--kernels", kernelImpl,
        "--out", dir.toString(), "--log-every", "1000000", "--checkpoint-every", "0"));
    if (workers > 0) {
      args.addAll(List.of("--push-precision", pushPrecision));
    }
    if (microShards != null) {
      args.addAll(List.of("--micro-shards", Integer.toString(microShards)));
    }
    StringWriter jobOut = new StringWriter();
    StringWriter jobErr = new StringWriter();
    int code = Main.run(new PrintWriter(jobOut), new PrintWriter(jobErr), args.toArray(String[]::new));
    if (code != 0) {
      throw new CommandFailure(ExitCode.FAILED, "bench job failed: " + jobErr.toString().strip());
    }
    double samplesPerSecond = RunSummary.read(RunSummary.file(dir)).steadySamplesPerSecond();
    long parameters = modelSpec.parameterCount();
    double flopsPerSample = flopsPerSample(modelSpec);
    Json result = new Json()
        .put("model", model)
        .put("batch", batch)
        .put("workers", workers)
        .put("steps", steps)
        .put("kernels", kernelImpl)
        .put("push_precision", workers > 0 ? pushPrecision : "none")
        .put("samples_per_second", samplesPerSecond)
        .put("step_ms", 1000.0 * batch / samplesPerSecond)
        .put("parameters", parameters);
    Path timing = RunTiming.file(dir);
    if (Files.exists(timing)) {
      RunTiming t = RunTiming.read(timing);
      double measured = t.measuredSeconds();
      long measuredSteps = t.stepsMeasured();
      if (measured > 0 && measuredSteps > 0) { // after the warm-up steps, as the split
        samplesPerSecond = measuredSteps * (double) batch / measured;
        result.put("samples_per_second", samplesPerSecond).put("step_ms", 1000.0 * batch / samplesPerSecond);
      }
      result.put("compute_ms", t.computeMs()).put("push_ms", t.pushMs()).put("wait_ms", t.waitMs())
          .put("weights_back_ms", t.weightsBackMs()).put("server_reduce_ms", t.serverReduceMs())
          .put("server_update_ms", t.serverUpdateMs()).put("bytes_per_worker_per_step", t.bytesPerWorkerPerStep())
          .put("wire_to_parameter_ratio", t.wireToParameterRatio());
      double computeMs = t.computeMs();
      double samplesPerWorker = (double) batch / workers;
      result.put("kernel_gflops", computeMs > 0 ? flopsPerSample * samplesPerWorker / (computeMs * 1e6) : 0.0);
    } else {
      result.put("kernel_gflops", flopsPerSample * samplesPerSecond / 1e9);
    }
    deleteTree(dir);
    if (json) {
      out.println(result);
      return ExitCode.OK.code();
    }
    out.printf(Locale.ROOT, "bench %s batch %d, %s, kernels %s, %d steps%n", model, batch,
        workers == 0 ? "single process" : workers + " workers, push precision " + pushPrecision, kernelImpl, steps);
    out.printf(Locale.ROOT, "  samples/s         %,.0f%n", samplesPerSecond);
    out.printf(Locale.ROOT, "  step              %.3f ms%n", (double) result.get("step_ms"));
    if (result.get("compute_ms") != null) {
      out.printf(Locale.ROOT, "  per step (means): compute %.3f ms, push %.3f ms, wait for the slowest + server %.3f ms,"
              + " weights back %.3f ms%n", (double) result.get("compute_ms"), (double) result.get("push_ms"),
          (double) result.get("wait_ms"), (double) result.get("weights_back_ms"));
      out.printf(Locale.ROOT, "  server:           reduce %.3f ms, update %.3f ms per step%n",
          (double) result.get("server_reduce_ms"), (double) result.get("server_update_ms"));
      out.printf(Locale.ROOT, "  wire:             %,.0f bytes per worker per step = %.2fx the %,d parameter bytes%n",
          (double) result.get("bytes_per_worker_per_step"), (double) result.get("wire_to_parameter_ratio"), 4 * parameters);
    }
    out.printf(Locale.ROOT, "  kernels           %.1f GFLOP/s (%.2f MFLOP per sample)%n",
        (double) result.get("kernel_gflops"), flopsPerSample / 1e6);
    return ExitCode.OK.code();
  }

  /**
   * Multiply-add flops of one sample's forward and backward: {@code 2 in out} per layer for
   * {@code Z = X W^T}, as much for {@code dW}, and as much for {@code dX} except in the first
   * layer, whose input gradient nobody needs.
   */
  private static double flopsPerSample(ModelSpec s) {
    double flops = 0;
    for (int l = 0; l < s.layerCount(); l++) {
      flops += (l == 0 ? 4.0 : 6.0) * s.fanIn(l) * s.fanOut(l);
    }
    return flops;
  }

  private static void deleteTree(Path dir) throws IOException {
    try (var files = Files.walk(dir)) {
      for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Kernels against EJML.

  /** One product of one layer: its name and how to run it once. */
  private record Product(String name, long flops, Runnable run) {}

  private int benchKernels(ModelSpec s) {
    PrintWriter out = spec.commandLine().getOut();
    DenseKernels fast = Kernels.byName(kernelImpl);
    DenseKernels ejml = new EjmlKernels();
    SplitMix64 rng = new SplitMix64(7);
    List<Json> rows = new ArrayList<>();
    if (!json) {
      out.printf(Locale.ROOT, "kernels %s%s vs ejml, batch %d, median of %d%n", fast.id(),
          vectorBits(fast) > 0 ? " (" + vectorBits(fast) + "-bit vectors)" : "", batch, repeats);
      out.printf(Locale.ROOT, "%-8s %-16s %-14s %12s %12s %8s%n", "layer", "product", "shape", fast.id() + " GF/s", "ejml GF/s", "ratio");
    }
    List<LayerArrays> layers = new ArrayList<>();
    for (int l = 0; l < s.layerCount(); l++) {
      layers.add(new LayerArrays(s.fanIn(l), s.fanOut(l), rng));
    }
    warmUp(fast, layers);
    double fastTotal = 0;
    double ejmlTotal = 0;
    for (int l = 0; l < s.layerCount(); l++) {
      LayerArrays a = layers.get(l);
      int in = a.in;
      int outSize = a.out;
      long flops = 2L * batch * in * outSize;
      for (String product : List.of("X W^T + b", "dZ^T X", "dZ W")) {
        double[] seconds = new double[2];
        int k = 0;
        for (DenseKernels kernels : List.of(fast, ejml)) {
          Runnable run = switch (product) {
            case "X W^T + b" -> a.forward(kernels);
            case "dZ^T X" -> a.weightGradient(kernels);
            default -> a.inputGradient(kernels);
          };
          seconds[k++] = medianSeconds(run, flops);
        }
        double fastGf = flops / seconds[0] / 1e9;
        double ejmlGf = flops / seconds[1] / 1e9;
        fastTotal += seconds[0];
        ejmlTotal += seconds[1];
        rows.add(new Json().put("layer", l).put("product", product).put("batch", batch).put("in", in).put("out", outSize)
            .put(fast.id() + "_gflops", fastGf).put("ejml_gflops", ejmlGf).put("ratio", fastGf / ejmlGf));
        if (!json) {
          out.printf(Locale.ROOT, "%-8s %-16s %-14s %12.1f %12.1f %7.1fx%n", "layer" + l, product,
              batch + "x" + in + "x" + outSize, fastGf, ejmlGf, fastGf / ejmlGf);
        }
      }
    }
    if (json) {
      out.println(new Json().put("kernels", fast.id()).put("vector_bits", vectorBits(fast))
          .put("batch", batch).put("model", model)
          .put("rows", rows).put("overall_ratio", ejmlTotal / fastTotal));
    } else {
      out.printf(Locale.ROOT, "all products of a step: %.1fx faster than ejml%n", ejmlTotal / fastTotal);
    }
    return ExitCode.OK.code();
  }

  /**
   * Runs every product of every layer in turn for 3 seconds before anything is timed: C2 compiles
   * the shared micro-kernels once they are hot, which on a busy machine can take longer than one
   * product's own warm-up, and the first product timed would otherwise pay for it.
   */
  private void warmUp(DenseKernels kernels, List<LayerArrays> layers) {
    List<Runnable> all = new ArrayList<>();
    for (LayerArrays a : layers) {
      all.add(a.forward(kernels));
      all.add(a.weightGradient(kernels));
      all.add(a.inputGradient(kernels));
    }
    long start = System.nanoTime();
    while (System.nanoTime() - start < 3_000_000_000L) {
      for (Runnable r : all) {
        r.run();
      }
    }
  }

  /** One layer's inputs and outputs at the benchmark's batch, random where they are read. */
  private final class LayerArrays {
    final int in;
    final int out;
    final float[] x;
    final float[] w;
    final float[] b;
    final float[] z;
    final float[] dz;
    final float[] dw;
    final float[] dx;

    LayerArrays(int in, int out, SplitMix64 rng) {
      this.in = in;
      this.out = out;
      x = random(rng, batch * in);
      w = random(rng, out * in);
      b = random(rng, out);
      z = new float[batch * out];
      dz = random(rng, batch * out);
      dw = new float[out * in];
      dx = new float[batch * in];
    }

    Runnable forward(DenseKernels k) {
      return () -> k.forward(x, w, b, z, batch, in, out);
    }

    Runnable weightGradient(DenseKernels k) {
      return () -> k.weightGradient(dz, x, dw, batch, in, out);
    }

    Runnable inputGradient(DenseKernels k) {
      return () -> k.inputGradient(dz, w, dx, batch, in, out);
    }
  }

  /** The vector width the kernels run at, in bits; 0 for kernels without vectors. */
  private static int vectorBits(DenseKernels kernels) {
    return kernels instanceof VectorKernels ? VectorKernels.BITS : 0;
  }

  /** Median seconds of one call, each timing a batch of calls long enough (~50 ms) to be stable. */
  private double medianSeconds(Runnable run, long flops) {
    int calls = 1;
    long start = System.nanoTime();
    while (System.nanoTime() - start < 1_500_000_000L) { // warm-up (C2 needs ~1 s), and find a call count
      for (int i = 0; i < calls; i++) {
        run.run();
      }
      calls = Math.min(calls * 2, 1 << 20);
    }
    int perTiming = Math.max(1, (int) (calls * 50_000_000L / Math.max(1, System.nanoTime() - start)));
    perTiming = Math.min(perTiming, 1 << 20);
    double[] samples = new double[repeats];
    for (int r = 0; r < repeats; r++) {
      long t0 = System.nanoTime();
      for (int i = 0; i < perTiming; i++) {
        run.run();
      }
      samples[r] = (System.nanoTime() - t0) / 1e9 / perTiming;
    }
    Arrays.sort(samples);
    return samples[repeats / 2];
  }

  private static float[] random(SplitMix64 rng, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (rng.nextDouble() * 2 - 1);
    }
    return v;
  }
}
