package io.gradflow.bench;

import io.gradflow.common.data.Dataset;
import io.gradflow.common.util.SplitMix64;

/** The inputs of the compute benchmarks: rows of uniform features in [0, 1) and uniform labels. */
final class RandomData {
  private RandomData() {}

  /**
   * {@code count} rows of {@code features} features and labels {@code 0..classes-1}, drawn from
   * one {@link SplitMix64} stream of {@code seed}: the features first, then the labels.
   */
  static Dataset uniform(int count, int features, int classes, long seed) {
    SplitMix64 rng = new SplitMix64(seed);
    float[] x = new float[count * features];
    int[] y = new int[count];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) rng.nextDouble();
    }
    for (int i = 0; i < count; i++) {
      y[i] = (int) (rng.nextDouble() * classes);
    }
    return new Dataset("random", x, y, features, classes);
  }
}
