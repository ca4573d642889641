package io.gradflow.ps;

import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Backprop;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.optim.SgdOptimizer;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.train.TrainingConfig;

/**
 * Compiles the server's loops before the first step: runs the optimizer {@code passes} times on
 * scratch weights and a made-up gradient sum, with the job's momentum and weight decay (the same
 * loops, Vector API included, that a step's close runs), and the test evaluation's forward pass as
 * often on a batch of zeros, and throws the results away. A JVM runs Vector API code interpreted,
 * a hundred times slower, until the JIT has compiled it: unwarmed, the first epochs' evaluations on
 * the background thread would take the cores from the workers. The workers warm their kernels the
 * same way (see {@code Worker}).
 */
final class ServerWarmUp {
  /** The evaluation's kernels run on fewer rows than its 500: the same code compiles. */
  private static final int EVALUATION_ROWS = 64;

  private ServerWarmUp() {}

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
    Backprop evaluation = new Backprop(scratch.spec(), Kernels.byName(config.kernels()), EVALUATION_ROWS);
    for (int pass = 0; pass < passes; pass++) {
      for (int t = 0; t < staging.length; t++) {
        sum.addFixed(t, 0, staging[t], staging[t].length);
      }
      // Both forms of a step's close: the whole sum in place, and the last push added in the pass.
      optimizer.step(scratch, sum, pass % 2 == 0 ? null : staging, gradient, pass, null, null);
      evaluation.forward(scratch, EVALUATION_ROWS);
    }
  }
}
