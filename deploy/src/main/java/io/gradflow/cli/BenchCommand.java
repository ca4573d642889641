package io.gradflow.cli;

import io.gradflow.common.data.SyntheticData;
import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.model.ModelSpec;
import java.util.List;
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

  @Mixin StalenessOption staleness;

  @Mixin SharedMemoryOption sharedMemory;

  @Option(names = "--workers", paramLabel = "N", split = ",",
      description = "Worker processes (0: single process), or a comma-separated list to compare in one run, "
          + "e.g. 0,1,2,4 (default: 2).")
  List<Integer> workers = List.of(2);

  @Option(names = "--servers", paramLabel = "S", split = ",",
      description = "Parameter server processes the parameters are sharded over (as train --servers), or a comma-separated "
          + "list to compare with each worker count, e.g. 1,2,4 (default: 1).")
  List<Integer> servers = List.of(1);

  @Option(names = "--push-thread", negatable = true,
      description = "Whether the workers send each push on a thread of their own while the next step computes (as train "
          + "--push-thread; default: when the machine has --threads + 1 cores for each worker).")
  Boolean pushThread;

  @Option(names = "--runs", paramLabel = "R",
      description = "Runs of each configuration, interleaved; medians are reported (default: ${DEFAULT-VALUE}).")
  int runs = 1;

  @Option(names = "--target-loss", paramLabel = "L",
      description = "Also report the seconds of training until the logged training loss first reaches L.")
  Double targetLoss;

  @Option(names = "--steps", paramLabel = "K", description = "Steps to run; the first fifth (at most 20) warm up and are not timed (default: ${DEFAULT-VALUE}).")
  int steps = 600;

  @Option(names = "--kernels", description = "Time each kernel against EJML on the model's layer shapes instead of running a job.")
  boolean kernelsOnly;

  @Option(names = "--kernel-impl", paramLabel = "K", description = "Kernel implementation to measure (default: ${DEFAULT-VALUE}).")
  String kernelImpl = Kernels.DEFAULT;

  @Option(names = "--repeats", paramLabel = "R", description = "With --kernels: timed repetitions per kernel; the median is reported (default: ${DEFAULT-VALUE}).")
  int repeats = 7;

  @Option(names = "--unix-socket", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "The workers reach the server through a Unix domain socket (Linux) instead of loopback TCP (default: on).")
  boolean unixSocket = true;

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
    for (int n : kernelsOnly ? List.of(1) : workers) {
      push.requireWorkersFor(n); // --kernels moves nothing over a wire
    }
    positive("--batch", batch.batch);
    positive("--steps", steps);
    positive("--repeats", repeats);
    positive("--runs", runs);
    if (workers.stream().anyMatch(n -> n < 0)) {
      throw CommandFailure.usage("--workers " + workers.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(","))
          + ": expected every worker count >= 0");
    }
    if (!kernelsOnly && JobBench.points(batch.batch) * modelSpec.inputSize() > SyntheticData.MAX_VALUES) {
      throw CommandFailure.usage("--batch " + batch.batch + ": the bench's data set (" + JobBench.points(batch.batch)
          + " rows of " + modelSpec.inputSize() + " features for it) would exceed " + SyntheticData.MAX_VALUES + " values");
    }
    if (servers.stream().anyMatch(s -> s < 1)) {
      throw CommandFailure.usage("--servers " + servers.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(","))
          + ": expected every server count >= 1");
    }
    if (!kernelsOnly) {
      for (int s : servers) {
        if (s > 1) {
          ServerCommand.rangesOf(modelSpec, s); // a model too small to shard: a usage error before any job
        }
      }
    }
    if (targetLoss != null && !(targetLoss > 0)) {
      throw CommandFailure.usage("--target-loss " + targetLoss + ": expected a positive loss");
    }
    if (kernelsOnly) {
      return new KernelBench(batch.batch, repeats, kernelImpl).run(modelSpec, spec.commandLine().getOut(), json);
    }
    double loss = targetLoss == null ? Double.NaN : targetLoss;
    if (workers.size() == 1 && servers.size() == 1 && runs == 1) {
      int s = workers.get(0) == 0 ? 1 : servers.get(0);
      return new JobBench(modelSpec, batch.batch, batch.microShards(), workers.get(0), s, steps, kernelImpl, push.value(), loss,
          sharedMemory.enabled, unixSocket, staleness.value(), pushThread)
          .run(spec.commandLine().getOut(), json);
    }
    BenchSeries series = new BenchSeries(workers, servers, runs,
        (n, s) -> new JobBench(modelSpec, batch.batch, batch.microShards(), n, s, steps, kernelImpl, push.value(), loss,
            sharedMemory.enabled, unixSocket, staleness.value(), pushThread));
    return series.run(spec.commandLine().getOut(), json);
  }

  /** {@code value} of {@code option} must be positive (a usage error naming both otherwise). */
  private static void positive(String option, int value) {
    if (value <= 0) {
      throw CommandFailure.usage(option + " " + value + ": expected a positive number");
    }
  }
}
