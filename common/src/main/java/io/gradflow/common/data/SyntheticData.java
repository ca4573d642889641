package io.gradflow.common.data;

import io.gradflow.common.util.SplitMix64;

/**
 * Small synthetic classification sets for tests and demos. Everything is drawn from
 * {@link SplitMix64} streams of the seed, so the same seed gives the same bits on every JVM: the
 * training set from stream {@code (seed, 1)}, the test set, an independent draw of the same
 * distribution, from stream {@code (seed, 2)} (blob centres from stream {@code (seed, 0)}). The
 * test set has a quarter of the training set's size (rounded up, at least one point per class).
 * Inputs lie in [0, 1].
 */
public final class SyntheticData {
  /** Most rows times features one synthetic set may have. */
  public static final long MAX_VALUES = 100_000_000L;

  private SyntheticData() {}

  /**
   * The classic K-arm spiral (as in CS231n): 2 features, {@code arms} classes. Point {@code i} of
   * arm {@code j}: radius {@code r ~ U(0, 1)}, angle {@code theta = 2 pi j / K + 4 r + noise g}
   * with {@code g ~ N(0, 1)}, position {@code (r sin theta, r cos theta)}, scaled to [0, 1] by
   * {@code u = (x + 1) / 2} (exact, since {@code r <= 1}). Rows are ordered arm by arm.
   *
   * @param noise standard deviation of the angle noise in radians (0.2 is the classic)
   */
  public static TrainTestSplit spirals(int arms, int pointsPerArm, double noise, long seed) {
    if (arms < 2) {
      throw new IllegalArgumentException("spirals: arms " + arms + ": expected at least 2");
    }
    if (pointsPerArm < 1) {
      throw new IllegalArgumentException(
          "spirals: points per arm " + pointsPerArm + ": expected at least 1");
    }
    if (!(noise >= 0) || Double.isInfinite(noise)) {
      throw new IllegalArgumentException("spirals: noise " + noise + ": expected a number >= 0");
    }
    checkSize("spirals", (long) arms * pointsPerArm, 2);
    int testPerArm = (pointsPerArm + 3) / 4;
    return new TrainTestSplit(
        spiral("spirals train", arms, pointsPerArm, noise, SplitMix64.forStream(seed, 1)),
        spiral("spirals test", arms, testPerArm, noise, SplitMix64.forStream(seed, 2)));
  }

  private static Dataset spiral(String name, int arms, int perArm, double noise, SplitMix64 rng) {
    int n = arms * perArm;
    float[] x = new float[2 * n];
    int[] y = new int[n];
    int row = 0;
    for (int j = 0; j < arms; j++) {
      double offset = 2 * Math.PI * j / arms;
      for (int i = 0; i < perArm; i++) {
        double r = rng.nextDouble();
        double theta = offset + 4 * r + noise * rng.nextGaussian();
        x[2 * row] = (float) ((r * StrictMath.sin(theta) + 1) / 2);
        x[2 * row + 1] = (float) ((r * StrictMath.cos(theta) + 1) / 2);
        y[row] = j;
        row++;
      }
    }
    return new Dataset(name, x, y, 2, arms);
  }

  /**
   * Gaussian clusters: {@code classes} centres {@code c_k ~ U(0, 1)^features}; row {@code i} has
   * label {@code i mod classes} and inputs {@code x = c_k + spread g}, {@code g ~ N(0, I)}, mapped
   * to [0, 1] by the fixed affine map {@code u = (x + 4 spread) / (1 + 8 spread)} (centres and
   * 4 standard deviations around them fit) and clamped to [0, 1] (beyond 4 standard deviations:
   * about 6 rows in 100 000 per feature).
   *
   * @param points rows of the training set (the test set has a quarter of them)
   * @param spread standard deviation of each cluster, in the units of the unit cube of centres
   */
  public static TrainTestSplit blobs(
      int classes, int points, int features, double spread, long seed) {
    return blobs(classes, points, features, defaultBlobTestPoints(classes, points), spread, seed);
  }

  /** The test rows of {@link #blobs(int, int, int, double, long)}: a quarter of the points, at least one per class. */
  public static int defaultBlobTestPoints(int classes, int points) {
    return Math.max(classes, (points + 3) / 4);
  }

  /**
   * As {@link #blobs(int, int, int, double, long)} with a test set of {@code testPoints} rows,
   * drawn from the same clusters (row {@code i} has label {@code i mod classes}).
   */
  public static TrainTestSplit blobs(
      int classes, int points, int features, int testPoints, double spread, long seed) {
    if (classes < 2) {
      throw new IllegalArgumentException("blobs: classes " + classes + ": expected at least 2");
    }
    if (points < classes) {
      throw new IllegalArgumentException(
          "blobs: points " + points + ": expected at least one per class (" + classes + ")");
    }
    if (features < 1) {
      throw new IllegalArgumentException("blobs: features " + features + ": expected at least 1");
    }
    if (!(spread >= 0) || Double.isInfinite(spread)) {
      throw new IllegalArgumentException("blobs: spread " + spread + ": expected a number >= 0");
    }
    if (testPoints < 1) {
      throw new IllegalArgumentException("blobs: test points " + testPoints + ": expected at least 1");
    }
    checkSize("blobs", points, features);
    SplitMix64 centreRng = SplitMix64.forStream(seed, 0);
    double[] centres = new double[classes * features];
    for (int i = 0; i < centres.length; i++) {
      centres[i] = centreRng.nextDouble();
    }
    return new TrainTestSplit(
        blob("blobs train", classes, points, features, spread, centres,
            SplitMix64.forStream(seed, 1)),
        blob("blobs test", classes, testPoints, features, spread, centres,
            SplitMix64.forStream(seed, 2)));
  }

  private static Dataset blob(
      String name, int classes, int n, int features, double spread, double[] centres,
      SplitMix64 rng) {
    float[] x = new float[n * features];
    int[] y = new int[n];
    double lo = -4 * spread;
    double width = 1 + 8 * spread;
    for (int i = 0; i < n; i++) {
      int k = i % classes;
      y[i] = k;
      for (int j = 0; j < features; j++) {
        double v = centres[k * features + j] + spread * rng.nextGaussian();
        double u = (v - lo) / width;
        x[i * features + j] = (float) Math.min(1.0, Math.max(0.0, u));
      }
    }
    return new Dataset(name, x, y, features, classes);
  }

  private static void checkSize(String what, long rows, int features) {
    if (rows * features > MAX_VALUES) {
      throw new IllegalArgumentException(
          what + ": " + rows + " rows of " + features + " features is too large: expected at most "
              + MAX_VALUES + " values");
    }
  }

  /**
   * {@code rows} rows of made-up inputs in [0, 1) (a fixed pattern, no randomness) with labels
   * cycling through the {@code classes}: what the warm-ups compute on and throw away (the server's
   * and the single process's), never trained on.
   */
  public static Dataset warmUpRows(String name, int rows, int features, int classes) {
    float[] inputs = new float[Math.multiplyExact(rows, features)];
    for (int i = 0; i < inputs.length; i++) {
      inputs[i] = (i * 2654435761L % 256) / 256f;
    }
    int[] labels = new int[rows];
    for (int i = 0; i < rows; i++) {
      labels[i] = i % classes;
    }
    return new Dataset(name, inputs, labels, features, classes);
  }
}
