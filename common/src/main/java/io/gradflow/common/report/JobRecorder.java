package io.gradflow.common.report;

import io.gradflow.common.data.InputScaling;
import io.gradflow.common.model.ModelFiles;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.train.EpochBookkeeping;
import io.gradflow.common.train.Evaluator;
import io.gradflow.common.train.JobInfo;
import io.gradflow.common.train.TrainingListener;
import io.gradflow.common.util.IoErrors;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a job's {@code --out} directory: {@code metrics.jsonl} (a step record every {@code
 * logEvery} steps with loss, learning rate, throughput and per-layer gradient norms, and an epoch
 * record with test accuracy, and an event record when a worker joins, leaves or is lost or the job
 * pauses or resumes), {@code summary.json} and {@code model.gfm} at the end. The summary's
 * {@code samples_per_second} counts every step; {@code steady_samples_per_second} leaves out the
 * first fifth of the steps (at most 20), while the JIT compiles the kernels, as {@code gradflow
 * bench} does for distributed jobs. Neither counts evaluation.
 *
 * <p>While the job runs the metrics go to {@link MetricsLog#partialFile}; the model and the
 * summary are written to temporary names only at the end, and then the three are renamed onto
 * their names together ({@link FileSet}): a job that fails, in its final save too, leaves the files
 * of an earlier run in the directory as they were, its own metrics in {@code
 * metrics.jsonl.partial}. Every failure to write is an {@link OutputException}. What a resumed
 * job's partial file starts with: {@link ResumedMetrics}.
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
  private boolean evaluationOverlapsTraining;
  private long epochStartNanos;
  private long stepsDone;
  private long lastLoggedStep = -1;
  private long lastLoggedNanos;
  /** Steps before {@code steady_samples_per_second} starts counting: JIT warm-up. */
  private long warmupSteps;
  private long steadyStartNanos;
  private long steadyStartEvalNanos;
  private InputScaling inputScaling = InputScaling.NONE;
  /** Steps done, for the step of an event record. */
  private long stepsApplied;
  /**
   * With the evaluation beside training: when each epoch's last step was applied, {step, nanoTime},
   * oldest first, until its {@link #onEpoch} (which comes later, after the evaluation) takes it.
   */
  private final ArrayDeque<long[]> epochEnds = new ArrayDeque<>();
  /**
   * Event messages that came before {@link #onStart} opened the metrics file (workers joining, a
   * restarted server resuming): recorded there at the job's first step, the steps done at its
   * checkpoint when it resumes.
   */
  private final List<String> earlyEvents = new ArrayList<>();

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

  /**
   * The test evaluation runs beside training (the server evaluates on a background thread while
   * the next steps go on), so its time is not taken out of {@code train_seconds}.
   */
  public JobRecorder evaluationOverlapsTraining() {
    this.evaluationOverlapsTraining = true;
    return this;
  }

  /** The training data's input scaling, recorded in {@code model.gfm}; none unless set. */
  public JobRecorder inputScaling(InputScaling scaling) {
    this.inputScaling = scaling;
    return this;
  }

  @Override
  public void onStart(JobInfo job) {
    this.job = job;
    try {
      Files.createDirectories(dir);
      ResumedMetrics.prepare(dir, job, append); // a resumed job continues its records up to its first step
      metrics = Files.newBufferedWriter(MetricsLog.partialFile(dir), StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      throw new OutputException("cannot write to " + dir + ": " + e.getFile() + " exists and is not a directory", e);
    } catch (IOException e) {
      throw new OutputException("cannot write to " + dir + ": " + IoErrors.reason(e), e);
    }
    trainStartNanos = System.nanoTime();
    epochStartNanos = trainStartNanos;
    lastLoggedNanos = trainStartNanos;
    lastLoggedStep = job.firstStep() - 1;
    warmupSteps = Math.min(20, (job.totalSteps() - job.firstStep()) / 5);
    steadyStartNanos = trainStartNanos;
    stepsApplied = job.firstStep();
    earlyEvents.forEach(this::onEvent);
    earlyEvents.clear();
  }

  /**
   * The stamp of the metrics file, an event line and a step line (with its gradient norms), built
   * and dropped; nothing written.
   */
  @Override
  public void rehearseStart(JobInfo job) {
    ResumedMetrics.stamp(job).length();
    MetricsLog.line(new MetricsLog.Event(job.firstStep(), "joined", "joined: worker 0 (rehearsal), 1/1")).length();
    MetricsLog.line(new MetricsLog.Step(job.firstStep(), 1, 1.0, 0.1, 1000.0, new double[] {1.0, 0.5})).length();
  }

  @Override
  public boolean readsGradient(long step) {
    return logs(step);
  }

  /** Whether step {@code step} gets a line in the metrics log: every {@code logEvery}-th, and the last. */
  private boolean logs(long step) {
    return (step + 1) % logEvery == 0 || step + 1 == job.totalSteps();
  }

  @Override
  public void onStep(long step, int epoch, double loss, float lr, Gradients gradient) {
    stepsDone++;
    stepsApplied = step + 1;
    if (evaluationOverlapsTraining && EpochBookkeeping.endsEpoch(step, job.stepsPerEpoch(), job.totalSteps())) {
      epochEnds.add(new long[] {step, System.nanoTime()});
    }
    if (stepsDone == warmupSteps) {
      steadyStartNanos = System.nanoTime();
      steadyStartEvalNanos = evalNanos;
    }
    if (!logs(step)) {
      return;
    }
    long now = System.nanoTime();
    double seconds = (now - lastLoggedNanos) / 1e9;
    double samplesPerSecond =
        seconds > 0 ? (step - lastLoggedStep) * (double) job.config().batch() / seconds : 0;
    lastLoggedNanos = now;
    lastLoggedStep = step;
    write(MetricsLog.line(new MetricsLog.Step(
        step + 1, epoch + 1, loss, lr, samplesPerSecond, gradient == null ? null : gradient.layerNorms())));
  }

  /**
   * The epoch record. In line with training the epoch's time runs to now, its evaluation included,
   * and the next epoch starts after it; beside training (the server) it runs to the moment the
   * epoch's last step was applied, so that an evaluation that reports late moves no time from the
   * next epoch into this one.
   */
  @Override
  public void onEpoch(int epoch, long step, Evaluator.Result test, double trainLoss) {
    long end = System.nanoTime();
    if (!evaluationOverlapsTraining) {
      evalNanos += (long) (test.seconds() * 1e9); // evaluation in line with training is not training time
    }
    while (!epochEnds.isEmpty() && epochEnds.peek()[0] <= step) {
      long[] recorded = epochEnds.poll();
      if (recorded[0] == step) {
        end = recorded[1];
      }
    }
    write(MetricsLog.line(new MetricsLog.Epoch(
        epoch + 1, step + 1, trainLoss, test.loss(), test.accuracy(), (end - epochStartNanos) / 1e9)));
    epochStartNanos = evaluationOverlapsTraining ? end : System.nanoTime();
  }

  /** Records a membership event (a worker joined, left or was lost; the job paused or resumed). */
  @Override
  public void onEvent(String message) {
    String kind = MetricsLog.Event.kindOf(message);
    if (kind == null) {
      return;
    }
    if (metrics == null) {
      earlyEvents.add(message);
    } else {
      write(MetricsLog.line(new MetricsLog.Event(stepsApplied, kind, message)));
    }
  }

  @Override
  public void onFinish(Network net, long steps, Evaluator.Result test, double trainLoss) {
    long now = System.nanoTime();
    double trainSeconds = (now - trainStartNanos - evalNanos) / 1e9;
    double steadySeconds = (now - steadyStartNanos - (evalNanos - steadyStartEvalNanos)) / 1e9;
    long steadySteps = stepsDone - Math.min(warmupSteps, stepsDone);
    long batch = job.config().batch();
    RunSummary summary = new RunSummary(
        test.accuracy(),
        test.loss(),
        trainLoss,
        steps / (double) job.stepsPerEpoch(),
        steps,
        job.workers(),
        batch,
        job.config().microShards(),
        (now - wallStartNanos) / 1e9,
        trainSeconds,
        trainSeconds > 0 ? stepsDone * batch / trainSeconds : 0.0,
        steadySeconds > 0 ? steadySteps * batch / steadySeconds : 0.0,
        net.spec().sizesText(),
        net.spec().activationText(),
        net.spec().parameterCount(),
        job.config().dataset(),
        job.config().learningRate(),
        job.config().momentum(),
        job.config().weightDecay(),
        job.config().schedule().id(),
        job.config().seed(),
        job.config().kernels(),
        job.workers() > 0 ? job.config().pushPrecision().id() : "none",
        job.config().staleness(),
        net.sha256());
    close();
    FileSet files = new FileSet()
        .add(MetricsLog.partialFile(dir), MetricsLog.file(dir))
        .write(RunSummary.file(dir), Json.pretty(summary).getBytes(StandardCharsets.UTF_8))
        .write(dir.resolve("model.gfm"), ModelFiles.encode(net, steps, inputScaling));
    files.commit();
    try {
      Files.deleteIfExists(ResumedMetrics.stampFile(dir)); // the partial file it stamped is metrics.jsonl now
    } catch (IOException e) {
      // a stale stamp names this job: a later resume of it would read metrics.jsonl all the same
    }
  }

  private void write(String record) {
    try {
      metrics.write(record);
      metrics.write('\n');
      metrics.flush();
    } catch (IOException e) {
      throw OutputException.cannotWrite(MetricsLog.partialFile(dir), e);
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
