package io.gradflow.common.train;

import io.gradflow.common.nn.Gradients;

/** Receives a training job's progress; the CLI renders it and writes metrics files from it. */
public interface TrainingListener {

  /**
   * After step {@code step} (0-based) was applied.
   *
   * @param loss mean cross-entropy of the step's global batch
   * @param gradient the reduced gradient of the step (live; read it now or never)
   */
  default void onStep(long step, int epoch, double loss, float learningRate, Gradients gradient) {}

  /** After the last step of epoch {@code epoch} (0-based), with the test set evaluated. */
  default void onEpoch(int epoch, long step, Evaluator.Result test, double trainLoss) {}
}
