package io.gradflow.cli;

import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.report.JobRecorder;
import io.gradflow.common.train.LocalTrainer;
import io.gradflow.common.train.LocalWarmUp;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.train.TrainingListener;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * A training job in this process ({@code train --workers 0}): the single-process trainer, its
 * files written to the output directory ({@code model.gfm}, {@code metrics.jsonl}, {@code
 * summary.json}), its progress shown on a display.
 */
record SingleProcessJob(ModelSpec spec, TrainingConfig config, TrainTestSplit data, int threads) {
  // Made by loading(), which checks the data against the batch and the model before it returns.

  /**
   * The job on the data {@code load} gives, loaded while a {@link LocalWarmUp} compiles the step on
   * the core the loading leaves idle ({@code warmUp} false: none, {@code --warmup-passes 0}). The data
   * is checked ({@link #checkBatch}, {@link ModelDataMatch#checkOption}) before the warm-up's step
   * under way is waited for, so a bad input is told at once.
   */
  static SingleProcessJob loading(ModelSpec spec, TrainingConfig config, Supplier<TrainTestSplit> load, int threads,
      boolean warmUp) {
    LocalWarmUp warming = warmUp ? LocalWarmUp.start(spec, config) : null;
    TrainTestSplit data;
    try {
      data = load.get();
      checkBatch(config, data);
      ModelDataMatch.checkOption(spec, data);
    } catch (RuntimeException e) {
      if (warming != null) {
        warming.abandon();
      }
      throw e;
    }
    if (warming != null) {
      warming.finish();
    }
    return new SingleProcessJob(spec, config, data, threads);
  }

  /** Checks that one global batch fits in the training set (a usage error otherwise). */
  private static void checkBatch(TrainingConfig config, TrainTestSplit data) {
    if (config.batch() > data.train().count()) {
      throw CommandFailure.usage(
          "--batch " + config.batch() + " is larger than the training set (" + data.train().count() + " rows)");
    }
  }

  /**
   * Trains, writing the files to {@code dir} (a metrics record every {@code logEvery} steps) and
   * showing progress on {@code display}.
   *
   * @param started {@link System#nanoTime()} when the command started (for the wall time)
   */
  void run(Path dir, int logEvery, long started, TrainingListener display) {
    LocalTrainer trainer = new LocalTrainer(Network.initialize(spec), config, data, threads);
    try (JobRecorder recorder = new JobRecorder(dir, logEvery, started)) {
      recorder.inputScaling(data.scaling());
      trainer.run(TrainingListener.all(recorder, display));
    }
  }
}
