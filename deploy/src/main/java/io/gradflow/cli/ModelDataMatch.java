package io.gradflow.cli;

import io.gradflow.common.data.DataException;
import io.gradflow.common.data.Dataset;
import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.model.ModelSpec;

/**
 * Checks, before any training or evaluation, that a model fits a data set: as many inputs as the
 * data has features, and an output for every label of the train and the test split.
 */
final class ModelDataMatch {
  private ModelDataMatch() {}

  /**
   * For a model named on the command line ({@code --model}): a wrong input width is a usage error
   * ({@link ExitCode#USAGE}); a label beyond the outputs is a data error naming the split and the
   * first offending row ({@link ExitCode#DATA}).
   */
  static void checkOption(ModelSpec model, TrainTestSplit data) {
    if (data.train().features() != model.inputSize()) {
      throw CommandFailure.usage(
          "--model " + model.sizesText() + " has " + model.inputSize() + " inputs but data set "
              + data.train().name() + " has " + data.train().features()
              + " features: expected --model " + data.train().features() + "-...");
    }
    checkLabels(model, data.train());
    checkLabels(model, data.test());
  }

  /**
   * For a model read from a file: a wrong input width or too few outputs is a model-file error
   * ({@link ExitCode#MODEL_FILE}) naming the file.
   */
  static void checkFile(String file, ModelSpec model, Dataset data) {
    if (data.features() != model.inputSize()) {
      throw new CommandFailure(ExitCode.MODEL_FILE,
          "model file error: " + file + ": model " + model.sizesText() + " has " + model.inputSize()
              + " inputs but data set " + data.name() + " has " + data.features() + " features");
    }
    int row = firstLabelAtLeast(data, model.outputSize());
    if (row >= 0) {
      throw new CommandFailure(ExitCode.MODEL_FILE,
          "model file error: " + file + ": model " + model.sizesText() + " has "
              + model.outputSize() + " outputs but " + labelsSource(data) + " has label "
              + data.labels()[row] + " at index " + row);
    }
  }

  private static void checkLabels(ModelSpec model, Dataset data) {
    int row = firstLabelAtLeast(data, model.outputSize());
    if (row >= 0) {
      throw new DataException(
          labelsSource(data) + ": label " + data.labels()[row] + " at index " + row + " is beyond the "
              + model.outputSize() + " outputs of model " + model.sizesText() + ": expected 0.."
              + (model.outputSize() - 1));
    }
  }

  /** The data set's name, with the IDX labels file it read the labels from. */
  private static String labelsSource(Dataset data) {
    String name = data.name();
    boolean idx = name.startsWith("idx:") || name.startsWith("fashion-mnist ") || name.startsWith("mnist ");
    if (!idx) {
      return name;
    }
    return name + " (" + (name.endsWith(" test") ? "t10k" : "train") + "-labels-idx1-ubyte)";
  }

  /** The index of the first row whose label is at least {@code outputs}, or -1. */
  private static int firstLabelAtLeast(Dataset data, int outputs) {
    int[] labels = data.labels();
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] >= outputs) {
        return i;
      }
    }
    return -1;
  }
}
