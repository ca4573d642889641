package io.gradflow.common.train;

import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;

/**
 * Receives a training job's progress, from the single-process trainer or the parameter server;
 * the CLI renders it and writes the metrics files from it. Calls come from one thread at a time.
 */
public interface TrainingListener {

  /** Before the first step. */
  default void onStart(JobInfo job) {}

  /**
   * Runs what {@link #onStart} and the first step and event lines run for the first time (the
   * formatting, a digest), on throwaway output: the parameter server calls it while the job
   * assembles, so that the job's start, which every worker waits for, does not load and link that
   * code. Writes nothing and changes nothing a later call reads; may come from another thread than
   * the other calls, never at the same time as one.
   */
  default void rehearseStart(JobInfo job) {}

  /**
   * Whether {@link #onStep} of step {@code step} reads the step's gradient. The update writes the
   * float gradient only for such steps (a store of 4 bytes per parameter saved on the others).
   */
  default boolean readsGradient(long step) {
    return false;
  }

  /**
   * After step {@code step} (0-based) was applied.
   *
   * @param loss mean cross-entropy of the step's global batch
   * @param gradient the reduced gradient of the step (live; read it now or never) when {@link
   *     #readsGradient} said so for this step, else null
   */
  default void onStep(long step, int epoch, double loss, float learningRate, Gradients gradient) {}

  /** After the last step of epoch {@code epoch} (0-based), with the test set evaluated. */
  default void onEpoch(int epoch, long step, Evaluator.Result test, double trainLoss) {}

  /** A line worth telling the user: a worker joined or left, the job waits, resumes. */
  default void onEvent(String message) {}

  /** After the last step, with the final network and its test result. */
  default void onFinish(Network net, long steps, Evaluator.Result test, double trainLoss) {}

  /** Calls every listener in order. */
  static TrainingListener all(TrainingListener... listeners) {
    return new TrainingListener() {
      @Override
      public void onStart(JobInfo job) {
        for (TrainingListener l : listeners) {
          l.onStart(job);
        }
      }

      @Override
      public void rehearseStart(JobInfo job) {
        for (TrainingListener l : listeners) {
          l.rehearseStart(job);
        }
      }

      @Override
      public boolean readsGradient(long step) {
        for (TrainingListener l : listeners) {
          if (l.readsGradient(step)) {
            return true;
          }
        }
        return false;
      }

      @Override
      public void onStep(long step, int epoch, double loss, float lr, Gradients gradient) {
        for (TrainingListener l : listeners) {
          l.onStep(step, epoch, loss, lr, gradient);
        }
      }

      @Override
      public void onEpoch(int epoch, long step, Evaluator.Result test, double trainLoss) {
        for (TrainingListener l : listeners) {
          l.onEpoch(epoch, step, test, trainLoss);
        }
      }

      @Override
      public void onEvent(String message) {
        for (TrainingListener l : listeners) {
          l.onEvent(message);
        }
      }

      @Override
      public void onFinish(Network net, long steps, Evaluator.Result test, double trainLoss) {
        for (TrainingListener l : listeners) {
          l.onFinish(net, steps, test, trainLoss);
        }
      }
    };
  }
}
