package io.gradflow.common.train;

import io.gradflow.common.data.SyntheticData;
import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.reduce.ExactGradientSum;

/**
 * Compiles the single-process trainer's step on a thread of its own while the job's data loads,
 * on the core the loading leaves idle. A JVM runs Vector API code interpreted, many times slower,
 * until the JIT has compiled it; without this the job's first steps pay for that after the data
 * is in (the first 10 steps of the default model took 1.2 s, later tens 0.02 s).
 *
 * <p>It runs the steps of a {@link LocalTrainer} with the job's model, configuration and initial
 * weights on a made-up training set of two batches ({@link SyntheticData#warmUpRows}), so that
 * every other step starts an epoch and draws its permutation as the job's first step of an epoch
 * does; like the job it keeps the float gradient and takes its per-layer norms one step in ten (the
 * metrics log's {@code grad_norms}), and evaluates a made-up test set of one full evaluation batch
 * and a short one every fourth step, until the data is in or {@link #MAX_STEPS} steps have run.
 * Everything is thrown away: it shares no state with the job, only the compiled code, and it runs
 * only where it pays ({@link #worthRunning}). The calls take the branches the job's take, so the
 * JIT compiles none of them again when the job first takes one (see {@code ServerWarmUp} and the
 * workers' warm-up).
 */
public final class LocalWarmUp {
  /**
   * Made-up training sets of more values than this are not built (16 MiB): a job with batches that
   * large spends long enough in each step for the JIT to compile it in its first.
   */
  static final long MAX_MADE_UP_VALUES = 1L << 22;
  /**
   * Bytes per parameter of the warm-up's own trainer, about: weights, velocity, float gradient,
   * the exact sum and a micro-shard's partial sum (8 bytes each) and its float gradient.
   */
  private static final long BYTES_PER_PARAMETER = 40;
  /** The warm-up takes at most this share of the heap: the job's own data and model come first. */
  private static final long HEAP_SHARE = 16;
  /** Made-up steps at most: enough for C2 to compile the step's drivers, which run once a step. */
  static final long MAX_STEPS = 1000;

  private final Thread thread;
  private volatile boolean stop;
  private volatile long steps;

  private LocalWarmUp(ModelSpec spec, TrainingConfig config, long maxSteps) {
    thread = new Thread(() -> run(spec, config, maxSteps), "gradflow-warmup");
    thread.setDaemon(true);
  }

  /**
   * Starts warming up for a job training {@code spec} with {@code config}; nothing runs where it
   * would not pay ({@link #worthRunning} with this JVM's heap).
   */
  public static LocalWarmUp start(ModelSpec spec, TrainingConfig config) {
    return start(spec, config, MAX_STEPS, Runtime.getRuntime().maxMemory());
  }

  /** As {@link #start(ModelSpec, TrainingConfig)}, stopping by itself after {@code maxSteps}, for a heap of {@code maxHeap} bytes. */
  static LocalWarmUp start(ModelSpec spec, TrainingConfig config, long maxSteps, long maxHeap) {
    LocalWarmUp warmUp = new LocalWarmUp(spec, config, maxSteps);
    if (worthRunning(spec, config, maxHeap)) {
      warmUp.thread.start();
    }
    return warmUp;
  }

  /**
   * Whether a warm-up pays: its made-up training set holds at most {@link #MAX_MADE_UP_VALUES}
   * values, and it needs at most a {@link #HEAP_SHARE}th of {@code maxHeap} bytes (a large model's
   * first step is long enough to compile in, and its memory is the job's).
   */
  static boolean worthRunning(ModelSpec spec, TrainingConfig config, long maxHeap) {
    long values = 2L * config.batch() * spec.inputSize();
    long bytes = Float.BYTES * values + BYTES_PER_PARAMETER * spec.parameterCount();
    return values <= MAX_MADE_UP_VALUES && bytes <= maxHeap / HEAP_SHARE;
  }

  private void run(ModelSpec spec, TrainingConfig config, long maxSteps) {
    try {
      runSteps(spec, config, maxSteps);
    } catch (ExactGradientSum.NonFiniteGradientException e) {
      // the made-up steps diverged: what ran is compiled all the same
    } catch (RuntimeException | OutOfMemoryError e) {
      // nothing to tell: the job runs the same code next and reports what fails there, and the
      // warm-up's memory is free again when this thread ends
    }
  }

  private void runSteps(ModelSpec spec, TrainingConfig config, long maxSteps) {
    TrainTestSplit madeUp = new TrainTestSplit(
        SyntheticData.warmUpRows("warm-up", 2 * config.batch(), spec.inputSize(), spec.outputSize()),
        Evaluator.warmUpSet(spec.inputSize(), spec.outputSize()));
    LocalTrainer trainer = new LocalTrainer(Network.initialize(spec), config, madeUp, 1);
    for (long step = 0; !stop && step < maxSteps; step++) {
      boolean keepsGradient = step % 10 == 0;
      trainer.step(step, keepsGradient);
      if (keepsGradient) {
        trainer.gradient().layerNorms();
      }
      if (step % 4 == 0) {
        trainer.evaluate();
      }
      steps = step + 1;
    }
  }

  /**
   * Stops after the step under way and waits for it: the job's first step then finds that step's
   * code compiled, or being compiled, instead of starting it over in the interpreter beside it.
   */
  public void finish() {
    stop = true;
    try {
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops after the step under way without waiting (the job will not run: its error is told at once). */
  public void abandon() {
    stop = true;
  }

  /** Whether it is still running a step. */
  public boolean running() {
    return thread.isAlive();
  }

  /** The made-up steps completed so far. */
  public long steps() {
    return steps;
  }
}
