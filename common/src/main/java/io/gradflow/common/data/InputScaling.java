package io.gradflow.common.data;

import java.util.Arrays;

/**
 * The per-feature scaling a data set's reader applied to raw inputs, kept in the model file so
 * that predictions scale exactly as training did:
 *
 * <pre>
 *   x'_j = (x_j - min_j) / (max_j - min_j)   in double, rounded to float32;  0 where max_j == min_j
 * </pre>
 *
 * <p>IDX sets record {@code min 0, max 255}: for an integer pixel {@code v} that is {@code
 * (float) (v / 255.0)}, which equals the IDX reader's {@code v / 255f} bit for bit (rounding a
 * double quotient to float32 is innocuous since 53 >= 2 * 24 + 2; {@code InputScalingTest}
 * checks all 256 values). CSV sets record the min-max of the training split ({@link
 * CsvReader.MinMax}), the same formula. Synthetic sets are generated already scaled: {@link
 * #NONE}.
 *
 * @param kind {@link #IDX_KIND}, {@link #CSV_KIND} or {@code ""} for none
 */
public record InputScaling(String kind, float[] min, float[] max) {
  public static final String IDX_KIND = "idx-255";
  public static final String CSV_KIND = "csv-min-max";

  /** No scaling recorded: inputs are used as given. */
  public static final InputScaling NONE = new InputScaling("", new float[0], new float[0]);

  public InputScaling {
    if (min.length != max.length) {
      throw new IllegalArgumentException(
          "input scaling: " + min.length + " minimums but " + max.length + " maximums");
    }
  }

  /** The IDX readers' {@code v / 255} for {@code features} pixels. */
  public static InputScaling idx(int features) {
    float[] max = new float[features];
    Arrays.fill(max, 255f);
    return new InputScaling(IDX_KIND, new float[features], max);
  }

  /** The min-max of a CSV training split. */
  public static InputScaling csv(CsvReader.MinMax mm) {
    return new InputScaling(CSV_KIND, mm.min().clone(), mm.max().clone());
  }

  /** True for {@link #NONE}: no per-feature ranges. */
  public boolean isNone() {
    return min.length == 0;
  }

  /** Number of features it scales (0 for none). */
  public int features() {
    return min.length;
  }

  /** Feature {@code j} of a raw value: {@code (x - min_j) / (max_j - min_j)}, or 0. */
  public float apply(int j, float x) {
    if (isNone()) {
      return x;
    }
    double range = (double) max[j] - min[j];
    return range > 0 ? (float) ((x - (double) min[j]) / range) : 0f;
  }

  /** Scales {@code rows} raw rows of {@code x} (row-major, {@link #features()} wide) in place. */
  public void applyInPlace(float[] x, int rows) {
    if (isNone()) {
      return;
    }
    int n = min.length;
    for (int r = 0; r < rows; r++) {
      for (int j = 0; j < n; j++) {
        x[r * n + j] = apply(j, x[r * n + j]);
      }
    }
  }
}
