package io.gradflow.common.report;

import io.gradflow.common.model.ModelFiles;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.train.Evaluator;
import io.gradflow.common.train.JobInfo;
import io.gradflow.common.train.TrainingListener;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes a job's {@code --out} directory: {@code metrics.jsonl} (a step record every {@code
 * logEvery} steps with loss, learning rate, throughput and per-layer gradient norms, and an epoch
 * record with test accuracy), {@code summary.json} and {@code model.gfm} at the end. The summary's
 * {@code samples_per_second} counts every step; {@code steady_samples_per_second} leaves out the
 * first fifth of the steps (at most 20), while the JIT compiles the kernels, as {@code gradflow
 * bench} does for distributed jobs. Neither counts evaluation.
 */
public final class JobRecorder implements TrainingListener, AutoCloseable {
  private final Path dir;
  private final int logEvery;
  private final long wallStartNanos;
  private final boolean append;
  private BufferedWriter metrics;
  private JobInfo job;
  private long trainStartNanos;
  private long evalNanos;
  private long epochStartNanos;
  private long stepsDone;
  private long lastLoggedStep = -1;
  private long lastLoggedNanos;
  /** Steps before {@code steady_samples_per_second} starts counting: JIT warm-up. */
  private long warmupSteps;
  private long steadyStartNanos;
  private long steadyStartEvalNanos;

  /**
   * @param wallStartNanos {@link System#nanoTime()} when the command started (for wall_seconds)
   */
  public JobRecorder(Path dir, int logEvery, long wallStartNanos) {
    this(dir, logEvery, wallStartNanos, false);
  }

  /**
   * @param append continue an existing metrics.jsonl (a resumed job) instead of starting anew
   */
  public JobRecorder(Path dir, int logEvery, long wallStartNanos, boolean append) {
    this.append = append;
    this.dir = dir;
    this.logEvery = Math.max(1, logEvery);
    this.wallStartNanos = wallStartNanos;
  }

  @Override
  public void onStart(JobInfo job) {
    this.job = job;
    try {
      Files.createDirectories(dir);
      metrics = append
          ? Files.newBufferedWriter(dir.resolve("metrics.jsonl"), StandardCharsets.UTF_8,
              java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND)
          : Files.newBufferedWriter(dir.resolve("metrics.jsonl"), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write to " + dir + ": " + e.getMessage(), e);
    }
    trainStartNanos = System.nanoTime();
    epochStartNanos = trainStartNanos;
    lastLoggedNanos = trainStartNanos;
    lastLoggedStep = job.firstStep() - 1;
    warmupSteps = Math.min(20, (job.totalSteps() - job.firstStep()) / 5);
    steadyStartNanos = trainStartNanos;
  }

  @Override
  public void onStep(long step, int epoch, double loss, float lr, Gradients gradient) {
    stepsDone++;
    if (stepsDone == warmupSteps) {
      steadyStartNanos = System.nanoTime();
      steadyStartEvalNanos = evalNanos;
    }
    if ((step + 1) % logEvery != 0 && step + 1 != job.totalSteps()) {
      return;
    }
    long now = System.nanoTime();
    double seconds = (now - lastLoggedNanos) / 1e9;
    double samplesPerSecond =
        seconds > 0 ? (step - lastLoggedStep) * (double) job.config().batch() / seconds : 0;
    lastLoggedNanos = now;
    lastLoggedStep = step;
    write(
        new Json()
            .put("type", "step")
            .put("step", step + 1)
            .put("epoch", epoch + 1)
            .put("loss", loss)
            .put("lr", (double) lr)
            .put("samples_per_second", samplesPerSecond)
            .put("grad_norms", gradient.layerNorms()));
  }

  @Override
  public void onEpoch(int epoch, long step, Evaluator.Result test, double trainLoss) {
    long now = System.nanoTime();
    evalNanos += (long) (test.seconds() * 1e9); // evaluation is not training time
    write(
        new Json()
            .put("type", "epoch")
            .put("epoch", epoch + 1)
            .put("step", step + 1)
            .put("train_loss", trainLoss)
            .put("test_loss", test.loss())
            .put("test_accuracy", test.accuracy())
            .put("epoch_seconds", (now - epochStartNanos) / 1e9));
    epochStartNanos = System.nanoTime();
  }

  @Override
  public void onFinish(Network net, long steps, Evaluator.Result test, double trainLoss) {
    long now = System.nanoTime();
    double trainSeconds = (now - trainStartNanos - evalNanos) / 1e9;
    double steadySeconds = (now - steadyStartNanos - (evalNanos - steadyStartEvalNanos)) / 1e9;
    long steadySteps = stepsDone - Math.min(warmupSteps, stepsDone);
    long batch = job.config().batch();
    Json summary =
        new Json()
            .put("test_accuracy", test.accuracy())
            .put("test_loss", test.loss())
            .put("train_loss", trainLoss)
            .put("epochs", steps / (double) job.stepsPerEpoch())
            .put("steps", steps)
            .put("workers", job.workers())
            .put("global_batch", batch)
            .put("micro_shards", job.config().microShards())
            .put("wall_seconds", (now - wallStartNanos) / 1e9)
            .put("train_seconds", trainSeconds)
            .put("samples_per_second", trainSeconds > 0 ? stepsDone * batch / trainSeconds : 0.0)
            .put("steady_samples_per_second", steadySeconds > 0 ? steadySteps * batch / steadySeconds : 0.0)
            .put("model", net.spec().sizesText())
            .put("activation", net.spec().activationText())
            .put("parameters", net.spec().parameterCount())
            .put("dataset", job.config().dataset())
            .put("learning_rate", job.config().learningRate())
            .put("momentum", job.config().momentum())
            .put("weight_decay", job.config().weightDecay())
            .put("schedule", job.config().schedule().id())
            .put("seed", job.config().seed())
            .put("kernels", job.config().kernels())
            .put("push_precision", job.workers() > 0 ? job.config().pushPrecision().id() : "none")
            .put("weights_sha256", net.sha256());
    try {
      ModelFiles.save(dir.resolve("model.gfm"), net, steps);
      Path tmp = dir.resolve("summary.json.tmp");
      Files.writeString(tmp, summary.toPrettyString(), StandardCharsets.UTF_8);
      Files.move(tmp, dir.resolve("summary.json"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write to " + dir + ": " + e.getMessage(), e);
    }
    close();
  }

  private void write(Json record) {
    try {
      metrics.write(record.toString());
      metrics.write('\n');
      metrics.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + dir.resolve("metrics.jsonl") + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    if (metrics != null) {
      try {
        metrics.close();
      } catch (IOException e) {
        // already reported by the last write
      }
      metrics = null;
    }
  }
}
