package io.gradflow.common.data;

/** A training set and the held-out test set it is evaluated on. */
public record TrainTestSplit(Dataset train, Dataset test) {
  public TrainTestSplit {
    if (train.features() != test.features()) {
      throw new IllegalArgumentException(
          "train set has " + train.features() + " features but test set has " + test.features());
    }
  }
}
