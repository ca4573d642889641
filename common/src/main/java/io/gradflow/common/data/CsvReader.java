package io.gradflow.common.data;

import io.gradflow.common.util.SplitMix64;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reads "label column + features" CSV files: comma-separated, the first column an integer class
 * label {@code >= 0}, the remaining columns numeric features. The first non-blank line is a
 * header, and skipped, when its first field is not a number. Blank lines are skipped; quoting is
 * not supported (a field is the text between two commas, trimmed); a UTF-8 byte-order mark is
 * ignored. Every row must have as many columns as the first row (or the header).
 *
 * <p>Features are scaled to [0, 1] by per-column min-max computed on the training rows only:
 * {@code x' = (x - min_j) / (max_j - min_j)}, and the same {@code min_j, max_j} are applied to the
 * test rows, so test values outside the training range fall outside [0, 1] (they are not
 * clipped). A column that is constant in the training rows becomes 0 everywhere. The number of
 * classes is the largest label of train and test, plus one.
 *
 * <p>Errors are one-line {@link DataException}s naming the file, the line (1-based, counting the
 * header and blank lines) and the column (1-based, the label is column 1).
 */
public final class CsvReader {
  /** Largest accepted label: guards against a file whose first column is not the label. */
  public static final int MAX_LABEL = 65_535;

  /** Seed of the permutation that picks the held-out rows of a single CSV file. */
  public static final long HOLDOUT_SEED = 0x6772616466L; // "gradf"

  private CsvReader() {}

  /**
   * Rows of a CSV file before scaling: {@code values} holds {@code count x features} raw values
   * row-major.
   */
  public record Table(String name, float[] values, int[] labels, int features) {
    public int count() {
      return labels.length;
    }

    /** The rows {@code rows[0..]} in that order, as a new table. */
    public Table select(int[] rows, String newName) {
      float[] v = new float[rows.length * features];
      int[] y = new int[rows.length];
      for (int r = 0; r < rows.length; r++) {
        System.arraycopy(values, rows[r] * features, v, r * features, features);
        y[r] = labels[rows[r]];
      }
      return new Table(newName, v, y, features);
    }

    int maxLabel() {
      int max = -1;
      for (int y : labels) {
        max = Math.max(max, y);
      }
      return max;
    }
  }

  /** Per-column minimum and maximum of a training table. */
  public record MinMax(float[] min, float[] max) {
    /** Computes the per-column ranges of {@code t}. */
    public static MinMax fit(Table t) {
      float[] min = new float[t.features()];
      float[] max = new float[t.features()];
      Arrays.fill(min, Float.POSITIVE_INFINITY);
      Arrays.fill(max, Float.NEGATIVE_INFINITY);
      float[] v = t.values();
      for (int r = 0; r < t.count(); r++) {
        int o = r * t.features();
        for (int j = 0; j < t.features(); j++) {
          min[j] = Math.min(min[j], v[o + j]);
          max[j] = Math.max(max[j], v[o + j]);
        }
      }
      return new MinMax(min, max);
    }

    /** {@code (x - min_j) / (max_j - min_j)}, or 0 where {@code max_j == min_j}. */
    public float[] apply(Table t) {
      float[] v = t.values();
      float[] out = new float[v.length];
      int n = min.length;
      for (int r = 0; r < t.count(); r++) {
        int o = r * n;
        for (int j = 0; j < n; j++) {
          double range = (double) max[j] - min[j];
          out[o + j] = range > 0 ? (float) ((v[o + j] - (double) min[j]) / range) : 0f;
        }
      }
      return out;
    }
  }

  /**
   * Reads a training file and a test file; the test file must have the same number of columns.
   * Scaling is fitted on the training file.
   */
  public static TrainTestSplit read(Path train, Path test) {
    Table tr = readTable(train, -1);
    Table te = readTable(test, tr.features() + 1);
    return scale(tr, te);
  }

  /**
   * Reads one file and holds out {@code round(testFraction * count)} rows (at least 1) as the test
   * set, chosen by a {@link SplitMix64} permutation of {@code seed}; both parts keep file order.
   * Scaling is fitted on the remaining training rows.
   */
  public static TrainTestSplit readWithHoldout(Path file, double testFraction, long seed) {
    if (!(testFraction > 0 && testFraction < 1)) {
      throw new IllegalArgumentException("test fraction " + testFraction + ": expected (0, 1)");
    }
    Table all = readTable(file, -1);
    if (all.count() < 2) {
      throw new DataException(
          file.getFileName() + ": has " + all.count()
              + " data row: expected at least 2 to hold out a test set");
    }
    long rounded = Math.round(testFraction * all.count());
    int testRows = (int) Math.max(1, Math.min(all.count() - 1, rounded));
    int[] perm = new SplitMix64(seed).permutation(all.count());
    int[] testIdx = Arrays.copyOfRange(perm, 0, testRows);
    int[] trainIdx = Arrays.copyOfRange(perm, testRows, perm.length);
    Arrays.sort(testIdx);
    Arrays.sort(trainIdx);
    String name = String.valueOf(file.getFileName());
    return scale(all.select(trainIdx, name + " train"), all.select(testIdx, name + " test"));
  }

  /** Fits min-max on {@code train}, applies it to both, and sets classes from both. */
  public static TrainTestSplit scale(Table train, Table test) {
    int classes = Math.max(train.maxLabel(), test.maxLabel()) + 1;
    MinMax mm = MinMax.fit(train);
    return new TrainTestSplit(
        new Dataset(train.name(), mm.apply(train), train.labels(), train.features(), classes),
        new Dataset(test.name(), mm.apply(test), test.labels(), test.features(), classes),
        InputScaling.csv(mm));
  }

  /**
   * Parses a file into raw rows.
   *
   * @param expectedColumns the required number of columns (label + features), or -1 to take it
   *     from the header or the first data row
   */
  public static Table readTable(Path file, int expectedColumns) {
    String f = String.valueOf(file.getFileName());
    if (Files.isDirectory(file)) {
      throw new DataException(file + ": is a directory, expected a CSV file");
    }
    int columns = expectedColumns;
    FloatList values = new FloatList();
    IntList labels = new IntList();
    // InputStreamReader replaces malformed UTF-8 instead of failing: only numbers matter here.
    try (BufferedReader in =
        new BufferedReader(
            new InputStreamReader(Files.newInputStream(file), StandardCharsets.UTF_8), 1 << 16)) {
      String line;
      int lineNo = 0;
      boolean first = true;
      String[] fields = new String[16];
      while ((line = in.readLine()) != null) {
        lineNo++;
        if (lineNo == 1 && !line.isEmpty() && line.charAt(0) == '\uFEFF') {
          line = line.substring(1);
        }
        if (line.isBlank()) {
          continue;
        }
        int n = split(line, fields);
        if (n > fields.length) {
          fields = new String[n];
          split(line, fields);
        }
        if (first) {
          first = false;
          if (!isNumber(fields[0])) {
            checkWidth(f, lineNo, columns, n, "header has");
            columns = n;
            continue;
          }
        }
        if (columns < 0) {
          columns = n;
        }
        if (columns < 2) {
          throw new DataException(
              f + " line " + lineNo + ": expected a label and at least 1 feature, got " + n
                  + " column");
        }
        checkWidth(f, lineNo, columns, n, "got");
        labels.add(parseLabel(f, lineNo, fields[0]));
        for (int j = 1; j < n; j++) {
          values.add(parseFeature(f, lineNo, j + 1, fields[j]));
        }
      }
    } catch (NoSuchFileException e) {
      throw new DataException(file + ": file not found");
    } catch (IOException e) {
      throw new DataException(f + ": cannot read: " + e.getMessage(), e);
    }
    if (labels.size() == 0) {
      throw new DataException(
          f + ": no data rows: expected lines of 'label,feature1,feature2,...'");
    }
    return new Table(f, values.toArray(), labels.toArray(), columns - 1);
  }

  private static void checkWidth(String f, int lineNo, int columns, int n, String verb) {
    if (columns >= 0 && n != columns) {
      throw new DataException(
          f + " line " + lineNo + ": expected " + columns + " columns (label + " + (columns - 1)
              + " features), " + verb + " " + n);
    }
  }

  /** Splits on commas into {@code out} (trimmed) when it fits; returns the field count. */
  private static int split(String line, String[] out) {
    int n = 0;
    int start = 0;
    while (true) {
      int comma = line.indexOf(',', start);
      int end = comma < 0 ? line.length() : comma;
      if (n < out.length) {
        out[n] = line.substring(start, end).trim();
      }
      n++;
      if (comma < 0) {
        return n;
      }
      start = comma + 1;
    }
  }

  private static boolean isNumber(String s) {
    try {
      Double.parseDouble(s);
      return true;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static int parseLabel(String f, int lineNo, String s) {
    double v;
    try {
      v = Double.parseDouble(s);
    } catch (NumberFormatException e) {
      throw new DataException(
          f + " line " + lineNo + " column 1: label '" + s + "' is not a number: expected a class"
              + " index >= 0");
    }
    if (v != Math.rint(v) || Double.isInfinite(v)) {
      throw new DataException(
          f + " line " + lineNo + " column 1: label '" + s + "' is not a whole number: expected a"
              + " class index >= 0");
    }
    if (v < 0) {
      throw new DataException(
          f + " line " + lineNo + " column 1: label " + s + " is negative: expected a class index"
              + " >= 0");
    }
    if (v > MAX_LABEL) {
      throw new DataException(
          f + " line " + lineNo + " column 1: label " + s + " is too large: expected at most "
              + MAX_LABEL + " (is the first column the label?)");
    }
    return (int) v;
  }

  private static float parseFeature(String f, int lineNo, int column, String s) {
    double v;
    try {
      v = Double.parseDouble(s);
    } catch (NumberFormatException e) {
      throw new DataException(
          f + " line " + lineNo + " column " + column + ": '" + s + "' is not a number");
    }
    float x = (float) v;
    if (!Float.isFinite(x)) {
      throw new DataException(
          f + " line " + lineNo + " column " + column + ": '" + s
              + "' is not a finite float32 number");
    }
    return x;
  }

  private static final class FloatList {
    private float[] a = new float[1024];
    private int n;

    void add(float v) {
      if (n == a.length) {
        if (a.length >= Integer.MAX_VALUE / 2) {
          throw new DataException("CSV file too large: more than " + n + " values");
        }
        a = Arrays.copyOf(a, a.length * 2);
      }
      a[n++] = v;
    }

    float[] toArray() {
      return Arrays.copyOf(a, n);
    }
  }

  private static final class IntList {
    private int[] a = new int[256];
    private int n;

    void add(int v) {
      if (n == a.length) {
        a = Arrays.copyOf(a, a.length * 2);
      }
      a[n++] = v;
    }

    int size() {
      return n;
    }

    int[] toArray() {
      return Arrays.copyOf(a, n);
    }
  }
}
