package io.gradflow.metrics;

import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.report.MetricsLog;
import io.gradflow.common.train.Evaluator;
import io.gradflow.common.train.JobInfo;
import io.gradflow.common.train.TrainingListener;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.stream.Stream;

/**
 * A job's progress as Prometheus metrics, kept up to date as a {@link TrainingListener}: step and
 * epoch, throughput, loss, test results, workers live, joined and lost (from the membership
 * events), the step time as a histogram; and, read when scraped, the bytes on the wire and the
 * age of the newest checkpoint. Refused pushes are counted by {@link RefusedPushCounter}.
 */
public final class JobMetrics implements TrainingListener {
  /** Throughput is measured over windows of at least this long. */
  private static final long WINDOW_NANOS = 1_000_000_000L;

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final Gauge step;
  private final Counter steps;
  private final Gauge totalSteps;
  private final Gauge epoch;
  private final Gauge samplesPerSecond;
  private final Gauge loss;
  private final Gauge learningRate;
  private final Gauge trainLoss;
  private final Gauge testLoss;
  private final Gauge testAccuracy;
  private final Gauge workersLive;
  private final Counter workersJoined;
  private final Counter workersLost;
  private final Histogram stepSeconds;
  private final Counter pushesRefused;
  private volatile LongSupplier bytesIn = () -> 0;
  private volatile LongSupplier bytesOut = () -> 0;
  private long batch;
  private long lastStepNanos;
  private long windowStartNanos;
  private long windowStartStep;
  private int live;

  /** @param checkpoints the directory whose newest {@code ckpt-*.gfc} gives the checkpoint age */
  public JobMetrics(Path checkpoints) {
    step = Gauge.builder().name("gradflow_step").help("Steps done (the next step's 0-based index)").register(registry);
    steps = Counter.builder().name("gradflow_steps").help("Steps applied by this server").register(registry);
    totalSteps = Gauge.builder().name("gradflow_total_steps").help("Steps the job runs in all").register(registry);
    epoch = Gauge.builder().name("gradflow_epoch").help("The epoch of the latest step, 1-based").register(registry);
    samplesPerSecond = Gauge.builder().name("gradflow_samples_per_second")
        .help("Training samples per second over the last second or so").register(registry);
    loss = Gauge.builder().name("gradflow_loss").help("Mean cross-entropy of the latest step's batch").register(registry);
    learningRate = Gauge.builder().name("gradflow_learning_rate").help("Learning rate of the latest step").register(registry);
    trainLoss = Gauge.builder().name("gradflow_train_loss").help("Mean step loss of the latest finished epoch").register(registry);
    testLoss = Gauge.builder().name("gradflow_test_loss").help("Test loss after the latest finished epoch").register(registry);
    testAccuracy = Gauge.builder().name("gradflow_test_accuracy")
        .help("Test accuracy after the latest finished epoch").register(registry);
    workersLive = Gauge.builder().name("gradflow_workers_live").help("Workers joined and not lost or gone").register(registry);
    workersJoined = Counter.builder().name("gradflow_workers_joined").help("Workers that joined").register(registry);
    workersLost = Counter.builder().name("gradflow_workers_lost")
        .help("Workers lost mid-job (silent or failed); their micro-shards went to the others").register(registry);
    stepSeconds = Histogram.builder().name("gradflow_step_seconds").unit(Unit.SECONDS)
        .help("Wall time from one step's update to the next").classicOnly()
        .classicUpperBounds(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
        .register(registry);
    pushesRefused = Counter.builder().name("gradflow_pushes_refused")
        .help("Pushes the server refused, by reason (the gRPC status code)").labelNames("reason").register(registry);
    for (String reason : List.of("invalid_argument", "failed_precondition", "unauthenticated", "aborted")) {
      pushesRefused.labelValues(reason); // the usual reasons are there from the start, at 0
    }
    CounterWithCallback.builder().name("gradflow_wire_bytes").help("Bytes on the wire at the server, by direction")
        .labelNames("direction")
        .callback(c -> {
          c.call(bytesIn.getAsLong(), "in");
          c.call(bytesOut.getAsLong(), "out");
        })
        .register(registry);
    GaugeWithCallback.builder().name("gradflow_checkpoint_age_seconds")
        .help("Seconds since the newest checkpoint was written; absent before the first")
        .callback(g -> newestCheckpoint(checkpoints).ifPresent(t -> g.call((System.currentTimeMillis() - t.toMillis()) / 1e3)))
        .register(registry);
  }

  /** The registry to serve. */
  public PrometheusRegistry registry() {
    return registry;
  }

  /** Where the wire bytes come from once the server exists. */
  public void wire(LongSupplier in, LongSupplier out) {
    this.bytesIn = in;
    this.bytesOut = out;
  }

  /** A push refused with gRPC status {@code reason}. */
  void pushRefused(String reason) {
    pushesRefused.labelValues(reason).inc();
  }

  @Override
  public void onStart(JobInfo job) {
    batch = job.config().batch();
    totalSteps.set(job.totalSteps());
    step.set(job.firstStep());
    lastStepNanos = System.nanoTime();
    windowStartNanos = lastStepNanos;
    windowStartStep = job.firstStep();
  }

  @Override
  public void onStep(long s, int e, double stepLoss, float lr, Gradients gradient) {
    long now = System.nanoTime();
    stepSeconds.observe((now - lastStepNanos) / 1e9);
    lastStepNanos = now;
    step.set(s + 1);
    steps.inc();
    epoch.set(e + 1);
    loss.set(stepLoss);
    learningRate.set(lr);
    if (now - windowStartNanos >= WINDOW_NANOS) {
      samplesPerSecond.set((s + 1 - windowStartStep) * (double) batch * 1e9 / (now - windowStartNanos));
      windowStartNanos = now;
      windowStartStep = s + 1;
    }
  }

  @Override
  public void onEpoch(int e, long s, Evaluator.Result test, double epochTrainLoss) {
    trainLoss.set(epochTrainLoss);
    testLoss.set(test.loss());
    testAccuracy.set(test.accuracy());
  }

  @Override
  public void onEvent(String message) {
    String kind = MetricsLog.Event.kindOf(message);
    if ("joined".equals(kind)) {
      workersJoined.inc();
      live++;
    } else if ("lost".equals(kind) || "left".equals(kind)) {
      if ("lost".equals(kind)) {
        workersLost.inc();
      }
      live = Math.max(0, live - 1);
    }
    workersLive.set(live);
  }

  @Override
  public void onFinish(Network net, long s, Evaluator.Result test, double epochTrainLoss) {
    testLoss.set(test.loss());
    testAccuracy.set(test.accuracy());
  }

  private static Optional<FileTime> newestCheckpoint(Path dir) {
    if (!Files.isDirectory(dir)) {
      return Optional.empty();
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.getFileName().toString().matches("ckpt-\\d+\\.gfc"))
          .map(JobMetrics::modified).flatMap(Optional::stream).max(FileTime::compareTo);
    } catch (IOException e) {
      return Optional.empty(); // a scrape must not fail over a directory being rewritten
    }
  }

  private static Optional<FileTime> modified(Path p) {
    try {
      return Optional.of(Files.getLastModifiedTime(p));
    } catch (IOException e) {
      return Optional.empty(); // pruned meanwhile
    }
  }
}
