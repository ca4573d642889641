package io.gradflow.cli;

import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.model.ModelSpec;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gradflow bench}: a real training job on synthetic data that reports samples/s, where a
 * step's time goes, bytes on the wire and the kernels' GFLOP/s ({@link JobBench}); or, with {@code
 * --kernels}, each dense-layer product timed against EJML on the same shapes ({@link KernelBench}).
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "Measure training throughput on synthetic data, or (--kernels) the kernels against EJML.")
final class BenchCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin ModelOptions model;

  @Mixin BatchOptions batch;

  @Mixin PushPrecisionOption push;

  @Option(names = "--workers", paramLabel = "N", description = "Worker processes (0: single process; default: ${DEFAULT-VALUE}).")
  int workers = 2;

  @Option(names = "--steps", paramLabel = "K", description = "Steps to run; the first fifth (at most 20) warm up and are not timed (default: ${DEFAULT-VALUE}).")
  int steps = 600;

  @Option(names = "--kernels", description = "Time each kernel against EJML on the model's layer shapes instead of running a job.")
  boolean kernelsOnly;

  @Option(names = "--kernel-impl", paramLabel = "K", description = "Kernel implementation to measure (default: ${DEFAULT-VALUE}).")
  String kernelImpl = Kernels.DEFAULT;

  @Option(names = "--repeats", paramLabel = "R", description = "With --kernels: timed repetitions per kernel; the median is reported (default: ${DEFAULT-VALUE}).")
  int repeats = 7;

  @Option(names = "--json", description = "Print one JSON object.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    ModelSpec modelSpec = model.spec(1);
    try {
      Kernels.byName(kernelImpl);
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage(e.getMessage());
    }
    push.requireWorkersFor(kernelsOnly ? 1 : workers); // --kernels moves nothing over a wire
    if (batch.batch <= 0 || steps <= 0 || repeats <= 0 || workers < 0) {
      throw CommandFailure.usage("--batch, --steps and --repeats must be positive, --workers >= 0");
    }
    if (kernelsOnly) {
      return new KernelBench(batch.batch, repeats, kernelImpl).run(modelSpec, spec.commandLine().getOut(), json);
    }
    return new JobBench(modelSpec, batch.batch, batch.microShards(), workers, steps, kernelImpl, push.value())
        .run(spec.commandLine().getOut(), json);
  }
}
