package io.gradflow.ps;

import io.gradflow.common.data.Dataset;
import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.optim.SgdOptimizer;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.train.Evaluator;
import io.gradflow.common.train.TrainingConfig;

/**
 * Compiles the server's loops before the first step: closes {@code passes} made-up steps on
 * scratch weights with the job's momentum and weight decay, the way the server closes a real one
 * (the sum spent, not cleared; the last push mostly read in the update's pass; the float gradient
 * kept on one step in ten, as for the metrics log's lines), takes the per-layer norms of that
 * gradient on every pass (the metrics log's {@code grad_norms}), and on every fourth pass evaluates a
 * made-up test set of one full evaluation batch and a short last one; the results are thrown away.
 * A JVM runs Vector API code interpreted, a hundred times slower, until the JIT has compiled it:
 * unwarmed, the first epochs' evaluations on the background thread would take the cores from the
 * workers. The calls take the branches the job's take: a branch the warm-up never took is left out
 * of the compiled code, and the job's first use of it throws that code away and compiles it again
 * while the job runs (a full batch of 500 rows multiplies untransposed, 64 rows transposed, see
 * {@code VectorKernels.forward}; a step without a kept gradient skips its store). The workers warm
 * their kernels the same way (see {@code JobJoin}).
 *
 * <p>A server started by the command line warms up from the moment it knows its model and
 * configuration, on a thread of its own while its data loads ({@link #start}, then {@link
 * ParameterServer#loopsWarmedUp}): a server starting alone leaves a core idle then, and later its
 * warm-up would take the cores the workers start on.
 */
public final class ServerWarmUp {
  /** Passes of a small model's warm-up. */
  private static final int PASSES = 60;
  /** At most this many elements updated in all (a large model needs fewer passes: its loops are long). */
  private static final long ELEMENTS = 15_000_000L;

  private ServerWarmUp() {}

  /**
   * Starts warming up the loops of a server training {@code spec} with {@code config} on a daemon
   * thread, on weights of its own ({@link #passes} passes), and returns the thread. What the
   * warm-up throws, an {@link OutOfMemoryError} too, ends it quietly: the job runs the same code
   * next and reports there.
   */
  public static Thread start(ModelSpec spec, TrainingConfig config) {
    Thread thread = new Thread(() -> {
      try {
        run(Network.initialize(spec), config, passes(spec.parameterCount()));
      } catch (RuntimeException | OutOfMemoryError e) {
        // nothing to tell (see above); the warm-up's memory is free again when this thread ends
      }
    }, "gradflow-warmup");
    thread.setDaemon(true);
    thread.start();
    return thread;
  }

  /** The passes for a model of {@code parameters}: {@link #PASSES}, fewer for a large model, at least 3. */
  static int passes(long parameters) {
    return (int) Math.max(3, Math.min(PASSES, ELEMENTS / Math.max(1, parameters)));
  }

  /** Warms up on {@code scratch}, a copy of the job's weights that is thrown away afterwards. */
  static void run(Network scratch, TrainingConfig config, int passes) {
    SgdOptimizer optimizer = new SgdOptimizer(scratch,
        LearningRateSchedule.constant(1e-12), config.momentum(), config.weightDecay());
    ExactGradientSum sum = new ExactGradientSum(scratch);
    Gradients gradient = new Gradients(scratch.spec());
    long[][] staging = new long[sum.tensorCount()][];
    for (int t = 0; t < staging.length; t++) {
      staging[t] = new long[sum.tensor(t).length];
      for (int i = 0; i < staging[t].length; i++) {
        staging[t][i] = (i * 2654435761L % 2001 - 1000) << 20;
      }
    }
    Evaluator evaluator = new Evaluator(scratch, Kernels.byName(config.kernels()));
    Dataset testSet = Evaluator.warmUpSet(scratch.spec().inputSize(), scratch.spec().outputSize());
    for (int pass = 0; pass < passes; pass++) {
      for (int t = 0; t < staging.length; t++) {
        sum.addFixed(t, 0, staging[t], staging[t].length);
      }
      // Both forms of a step's close: the whole sum in the pass, and the last push added in it.
      optimizer.stepAndSpend(scratch, sum, pass % 2 == 0 ? null : staging, pass % 10 == 0 ? gradient : null, pass);
      gradient.layerNorms();
      if (pass % 4 == 0) {
        evaluator.evaluate(scratch, testSet);
      }
    }
  }
}
