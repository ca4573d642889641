package io.gradflow.cli;

import io.gradflow.common.data.InputScaling;
import io.gradflow.common.data.PredictionInput;
import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.model.ModelFiles;
import io.gradflow.common.model.Network;
import io.gradflow.common.train.Predictor;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gradflow predict}: class probabilities and the predicted class of every input row, as CSV
 * ({@code class,p0,...,p<K-1>}, one line per row in input order). Inputs are scaled with the
 * scaling recorded in the model file; a model file without one scales IDX inputs by {@code /255}
 * and uses CSV inputs as given.
 */
@Command(
    name = "predict",
    mixinStandardHelpOptions = true,
    description = {
      "Print the predicted class and the class probabilities of every row of an input file, as CSV"
          + " with the header class,p0,...,p<K-1>.",
      "Inputs are scaled as in training (the scaling is recorded in the model file)."
    })
final class PredictCommand implements Callable<Integer> {
  enum Format { csv, idx }

  @Spec CommandSpec spec;

  @Option(names = "--model-file", required = true, paramLabel = "FILE", description = "A model.gfm written by train.")
  Path modelFile;

  @Option(
      names = "--input",
      required = true,
      paramLabel = "FILE",
      description =
          "Rows to predict: a CSV file (features per row, or a label then the features) or an IDX"
              + " images file (raw or .gz).")
  Path input;

  @Option(
      names = "--format",
      paramLabel = "csv|idx",
      description = "Format of --input (default: csv for a name ending in .csv, idx otherwise).")
  Format format;

  @Option(names = "--out", paramLabel = "FILE", description = "Write the CSV here (default: standard output).")
  Path out;

  @Override
  public Integer call() {
    if (out != null) {
      OutputPaths.notSameFile("--out", out, "--input", input);
      OutputPaths.notSameFile("--out", out, "--model-file", modelFile);
      OutputPaths.file("--out", out);
    }
    ModelFiles.Loaded model = ModelFiles.load(modelFile);
    Network net = model.network();
    int features = net.spec().inputSize();
    Format f = format != null ? format
        : input.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".csv") ? Format.csv : Format.idx;
    PredictionInput rows = f == Format.csv
        ? PredictionInput.readCsv(input, features)
        : PredictionInput.readIdx(input, features);
    InputScaling scaling = model.scaling();
    if (scaling.isNone() && f == Format.idx) {
      scaling = InputScaling.idx(features); // what the IDX readers always applied in training
    }
    float[] p = new Predictor(net, scaling, Kernels.byName(Kernels.DEFAULT)).probabilities(rows.values(), rows.rows());
    int classes = net.spec().outputSize();
    if (out == null) {
      PrintWriter w = spec.commandLine().getOut();
      write(w, p, rows.rows(), classes);
      w.flush();
    } else {
      try (BufferedWriter w = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
        write(w, p, rows.rows(), classes);
      } catch (IOException e) {
        throw OutputPaths.cannotWrite("--out", out, e);
      } catch (UncheckedIOException e) {
        throw OutputPaths.cannotWrite("--out", out, e.getCause());
      }
    }
    return ExitCode.OK.code();
  }

  /** The header, then per row the predicted class and the probabilities (shortest exact float text). */
  static void write(Writer w, float[] p, int rows, int classes) {
    try {
      StringBuilder line = new StringBuilder("class");
      for (int j = 0; j < classes; j++) {
        line.append(",p").append(j);
      }
      w.write(line.append('\n').toString());
      for (int r = 0; r < rows; r++) {
        line.setLength(0);
        line.append(Predictor.argmax(p, r, classes));
        for (int j = 0; j < classes; j++) {
          line.append(',').append(p[r * classes + j]);
        }
        w.write(line.append('\n').toString());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write predictions: " + e.getMessage(), e);
    }
  }
}
