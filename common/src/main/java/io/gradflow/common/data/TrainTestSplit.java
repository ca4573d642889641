package io.gradflow.common.data;

/**
 * A training set, the held-out test set it is evaluated on, and the scaling the reader applied to
 * the raw inputs of both ({@link InputScaling#NONE} for sets generated already scaled).
 */
public record TrainTestSplit(Dataset train, Dataset test, InputScaling scaling) {
  public TrainTestSplit {
    if (train.features() != test.features()) {
      throw new IllegalArgumentException(
          "train set has " + train.features() + " features but test set has " + test.features());
    }
    if (!scaling.isNone() && scaling.features() != train.features()) {
      throw new IllegalArgumentException(
          "input scaling has " + scaling.features() + " features but the data set has "
              + train.features());
    }
  }

  /** A split whose inputs were not scaled by a reader. */
  public TrainTestSplit(Dataset train, Dataset test) {
    this(train, test, InputScaling.NONE);
  }
}
