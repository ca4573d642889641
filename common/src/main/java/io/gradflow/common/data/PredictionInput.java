package io.gradflow.common.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Raw, unscaled input rows to predict on, {@code features} wide, read from a file:
 *
 * <ul>
 *   <li>CSV: comma-separated numbers, {@code features} per row, or {@code features + 1} with a
 *       label first (as training files have; the label is ignored). The first non-blank line is a
 *       header, and skipped, when its first field is not a number; blank lines are skipped.
 *   <li>IDX: an images file (raw or {@code .gz}), pixels 0..255 as stored.
 * </ul>
 *
 * <p>Errors are one-line {@link DataException}s naming the file, and for CSV the line and column
 * (both 1-based).
 */
public record PredictionInput(float[] values, int rows, int features) {

  /** Reads a CSV file of {@code features} (or label + {@code features}) columns per row. */
  public static PredictionInput readCsv(Path file, int features) {
    String f = String.valueOf(file.getFileName());
    if (Files.isDirectory(file)) {
      throw new DataException(file + ": is a directory, expected a CSV file");
    }
    float[] values = new float[1024];
    int n = 0;
    int rows = 0;
    int columns = -1;
    try (BufferedReader in =
        new BufferedReader(
            new InputStreamReader(Files.newInputStream(file), StandardCharsets.UTF_8), 1 << 16)) {
      String line;
      int lineNo = 0;
      boolean first = true;
      while ((line = in.readLine()) != null) {
        lineNo++;
        if (lineNo == 1 && !line.isEmpty() && line.charAt(0) == '\uFEFF') {
          line = line.substring(1);
        }
        if (line.isBlank()) {
          continue;
        }
        String[] fields = line.split(",", -1);
        if (first) {
          first = false;
          if (!isNumber(fields[0].trim())) {
            continue; // a header
          }
        }
        if (columns < 0) {
          if (fields.length != features && fields.length != features + 1) {
            throw new DataException(
                f + " line " + lineNo + ": expected " + features + " features (or a label + "
                    + features + "), got " + fields.length + " columns");
          }
          columns = fields.length;
        } else if (fields.length != columns) {
          throw new DataException(
              f + " line " + lineNo + ": expected " + columns + " columns like the first row, got "
                  + fields.length);
        }
        int skip = columns - features;
        if (n + features > values.length) {
          values = Arrays.copyOf(values, Math.max(values.length * 2, n + features));
        }
        for (int j = skip; j < columns; j++) {
          values[n++] = parse(f, lineNo, j + 1, fields[j].trim());
        }
        rows++;
      }
    } catch (NoSuchFileException e) {
      throw new DataException(file + ": file not found");
    } catch (IOException e) {
      throw new DataException(f + ": cannot read: " + e.getMessage(), e);
    }
    if (rows == 0) {
      throw new DataException(f + ": no data rows: expected lines of " + features + " numbers");
    }
    return new PredictionInput(Arrays.copyOf(values, n), rows, features);
  }

  /** Reads an IDX images file whose images have {@code features} pixels. */
  public static PredictionInput readIdx(Path file, int features) {
    IdxReader.Images images = IdxReader.readRawImages(file);
    if (images.pixelsPerImage() != features) {
      throw new DataException(
          file.getFileName() + ": images of " + images.rows() + "x" + images.cols() + " = "
              + images.pixelsPerImage() + " pixels: expected " + features + " (the model's inputs)");
    }
    return new PredictionInput(images.pixels(), images.count(), features);
  }

  private static boolean isNumber(String s) {
    try {
      Double.parseDouble(s);
      return true;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static float parse(String f, int lineNo, int column, String s) {
    float x;
    try {
      x = (float) Double.parseDouble(s);
    } catch (NumberFormatException e) {
      throw new DataException(
          f + " line " + lineNo + " column " + column + ": '" + s + "' is not a number");
    }
    if (!Float.isFinite(x)) {
      throw new DataException(
          f + " line " + lineNo + " column " + column + ": '" + s
              + "' is not a finite float32 number");
    }
    return x;
  }
}
