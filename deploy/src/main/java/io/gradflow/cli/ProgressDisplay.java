package io.gradflow.cli;

import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.train.Evaluator;
import io.gradflow.common.train.JobInfo;
import io.gradflow.common.train.TrainingListener;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * Shows a job's progress: on a terminal one status line redrawn in place (a bar, step, epoch, loss,
 * samples/s, ETA) and a line per epoch; elsewhere quiet, line-oriented output: a line per epoch and
 * a progress line (without the bar) at most every {@code plainIntervalSeconds}. The ETA is the steps
 * left over the recent step rate, {@code (total - done) * batch / samples per second}.
 */
final class ProgressDisplay implements TrainingListener {
  private static final long REDRAW_NANOS = 100_000_000L;
  /** Characters of the bar on a terminal. */
  static final int BAR_WIDTH = 24;

  private final PrintWriter out;
  private final boolean interactive;
  private final long plainIntervalNanos;
  private JobInfo job;
  private long lastDrawNanos;
  private long windowStartNanos;
  private long windowStartStep;
  private double samplesPerSecond;
  private boolean lineOpen;

  ProgressDisplay(PrintWriter out, boolean interactive, double plainIntervalSeconds) {
    this.out = out;
    this.interactive = interactive;
    this.plainIntervalNanos = (long) (plainIntervalSeconds * 1e9);
  }

  @Override
  public void onStart(JobInfo job) {
    this.job = job;
    windowStartNanos = System.nanoTime();
    lastDrawNanos = windowStartNanos;
    windowStartStep = job.firstStep();
    String who = job.workers() == 0 ? "single process" : job.workers() + " workers";
    println(
        String.format(
            Locale.ROOT,
            "training %s %s on %s (%d train / %d test): %d steps of batch %d (%d micro-shards), %s, kernels %s",
            job.spec().sizesText(),
            job.spec().activationText(),
            job.config().dataset(),
            job.trainCount(),
            job.testCount(),
            job.totalSteps(),
            job.config().batch(),
            job.config().microShards(),
            who,
            job.config().kernels()));
  }

  @Override
  public void onStep(long step, int epoch, double loss, float lr, Gradients gradient) {
    long now = System.nanoTime();
    long interval = interactive ? REDRAW_NANOS : plainIntervalNanos;
    if (now - lastDrawNanos < interval && step + 1 != job.totalSteps()) {
      return;
    }
    double seconds = (now - windowStartNanos) / 1e9;
    if (seconds > 0.5 || samplesPerSecond == 0) {
      samplesPerSecond = seconds > 0 ? (step + 1 - windowStartStep) * job.config().batch() / seconds : 0;
      windowStartNanos = now;
      windowStartStep = step + 1;
    }
    lastDrawNanos = now;
    String line =
        String.format(
            Locale.ROOT,
            "step %d/%d  epoch %d/%d  loss %.4f  lr %.4g  %,.0f samples/s  ETA %s",
            step + 1,
            job.totalSteps(),
            epoch + 1,
            epochs(),
            loss,
            lr,
            samplesPerSecond,
            eta(job.totalSteps() - step - 1, job.config().batch(), samplesPerSecond));
    if (interactive) {
      out.print("\r" + bar(step + 1, job.totalSteps()) + "  " + line + "\033[K");
      out.flush();
      lineOpen = true;
    } else {
      println(line);
    }
  }

  @Override
  public void onEpoch(int epoch, long step, Evaluator.Result test, double trainLoss) {
    println(
        String.format(
            Locale.ROOT,
            "epoch %d/%d  step %d  train loss %.4f  test loss %.4f  test accuracy %.4f",
            epoch + 1,
            epochs(),
            step + 1,
            trainLoss,
            test.loss(),
            test.accuracy()));
  }

  @Override
  public void onEvent(String message) {
    println(message);
  }

  @Override
  public void onFinish(Network net, long steps, Evaluator.Result test, double trainLoss) {
    finished(steps, test.accuracy(), test.loss(), net.sha256());
  }

  /** The closing line, also used when the job ran in another process. */
  void finished(long steps, double accuracy, double loss, String sha256) {
    println(
        String.format(
            Locale.ROOT,
            "done: %d steps, test accuracy %.4f, test loss %.4f, weights sha256 %s",
            steps,
            accuracy,
            loss,
            sha256));
  }

  /** {@code [#####.....]  45%}: the share of steps done, {@link #BAR_WIDTH} characters wide. */
  static String bar(long done, long total) {
    double share = total <= 0 ? 1 : Math.min(1, Math.max(0, done / (double) total));
    int filled = (int) Math.floor(share * BAR_WIDTH);
    return "[" + "#".repeat(filled) + ".".repeat(BAR_WIDTH - filled) + "] "
        + String.format(Locale.ROOT, "%3d%%", (int) Math.floor(share * 100));
  }

  /** Time left for {@code steps} steps of {@code batch} samples at {@code samplesPerSecond}: {@code 1h02m}, {@code 3m07s}, {@code 42s}; {@code ?} before a rate is known. */
  static String eta(long steps, long batch, double samplesPerSecond) {
    if (steps <= 0) {
      return "0s";
    }
    if (!(samplesPerSecond > 0)) {
      return "?";
    }
    long seconds = Math.round(steps * (double) batch / samplesPerSecond);
    if (seconds >= 3600) {
      return String.format(Locale.ROOT, "%dh%02dm", seconds / 3600, seconds % 3600 / 60);
    }
    if (seconds >= 60) {
      return String.format(Locale.ROOT, "%dm%02ds", seconds / 60, seconds % 60);
    }
    return seconds + "s";
  }

  private long epochs() {
    return (job.totalSteps() + job.stepsPerEpoch() - 1) / job.stepsPerEpoch();
  }

  private void println(String line) {
    if (lineOpen) {
      out.print("\r\033[K");
      lineOpen = false;
    }
    out.println(line);
    out.flush();
  }
}
