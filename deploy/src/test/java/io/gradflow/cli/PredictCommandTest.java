package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import io.gradflow.common.data.IdxReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gradflow predict}: agrees with {@code evaluate}, and refuses bad input in one line. */
class PredictCommandTest {
  static final Path DATA = Path.of("/usr/share/datasets/fashion-mnist");

  @TempDir Path tmp;

  private Path train(String dataset, String model, int steps) {
    Path out = tmp.resolve("job");
    Jobs.Run r = Jobs.run(List.of("train", "--workers", "0", "--out", out.toString(), "--dataset", dataset,
        "--model", model, "--max-steps", Integer.toString(steps), "--batch", "64"));
    assertEquals(0, r.exitCode(), r.err() + r.out());
    return out.resolve("model.gfm");
  }

  private double evaluate(Path model, String dataset) {
    Jobs.Run r = Jobs.run(List.of("evaluate", "--model-file", model.toString(), "--dataset", dataset, "--json"));
    assertEquals(0, r.exitCode(), r.err());
    return JsonParser.parseString(r.out()).getAsJsonObject().get("accuracy").getAsDouble();
  }

  /** Accuracy of predict's CSV output against {@code labels}. */
  private double predictAccuracy(Path model, Path input, int[] labels) throws Exception {
    Path csv = tmp.resolve("predictions.csv");
    Jobs.Run r = Jobs.run(List.of("predict", "--model-file", model.toString(), "--input", input.toString(),
        "--out", csv.toString()));
    assertEquals(0, r.exitCode(), r.err());
    List<String> lines = Files.readAllLines(csv);
    assertTrue(lines.get(0).startsWith("class,p0,p1"), lines.get(0));
    assertEquals(labels.length + 1, lines.size());
    long correct = 0;
    for (int i = 0; i < labels.length; i++) {
      String[] f = lines.get(i + 1).split(",");
      double sum = 0;
      for (int j = 1; j < f.length; j++) {
        sum += Float.parseFloat(f[j]);
      }
      assertEquals(1.0, sum, 1e-5, "row " + i);
      if (Integer.parseInt(f[0]) == labels[i]) {
        correct++;
      }
    }
    return (double) correct / labels.length;
  }

  @Test
  void predictOnFashionMnistTestSplitGivesEvaluatesAccuracy() throws Exception {
    Prerequisites.need(Files.isRegularFile(DATA.resolve("t10k-images-idx3-ubyte.gz")),
        "Fashion-MNIST is not in " + DATA + ": apt-get install -y dataset-fashion-mnist");
    Path model = train("fashion-mnist", "784-32-10", 30);
    int[] labels = IdxReader.readLabels(DATA.resolve("t10k-labels-idx1-ubyte.gz"));
    double predicted = predictAccuracy(model, DATA.resolve("t10k-images-idx3-ubyte.gz"), labels);
    assertEquals(evaluate(model, "fashion-mnist"), predicted);
    assertTrue(predicted > 0.5, "accuracy " + predicted);
  }

  @Test
  void predictOnCsvTestFileScalesWithTheTrainingMinMax() throws Exception {
    // Blobs with offset, wide-range features, so that min-max scaling matters.
    StringBuilder train = new StringBuilder("label,a,b,c\n");
    StringBuilder test = new StringBuilder();
    io.gradflow.common.util.SplitMix64 rng = new io.gradflow.common.util.SplitMix64(5);
    List<Integer> testLabels = new ArrayList<>();
    for (int i = 0; i < 700; i++) {
      int y = i % 3;
      String row = String.format(Locale.ROOT, "%d,%.4f,%.4f,%.4f%n", y, 100 + 40 * y + 15 * rng.nextGaussian(),
          -3 + y + rng.nextGaussian(), 1000 * rng.nextGaussian());
      if (i < 500) {
        train.append(row);
      } else {
        test.append(row);
        testLabels.add(y);
      }
    }
    Path trainCsv = Files.writeString(tmp.resolve("train.csv"), train);
    Path testCsv = Files.writeString(tmp.resolve("test.csv"), test);
    String dataset = "csv:" + trainCsv + "," + testCsv;
    Path model = train(dataset, "3-16-3", 60);
    double predicted = predictAccuracy(model, testCsv, testLabels.stream().mapToInt(Integer::intValue).toArray());
    assertEquals(evaluate(model, dataset), predicted);
  }

  @Test
  void badInputIsOneLineNamingFileLineAndColumn() throws Exception {
    Path model = train("spirals", "2-8-3", 5);
    Path bad = Files.writeString(tmp.resolve("bad.csv"), "x,y\n0.1,0.2\n0.3,abc\n");
    Jobs.Run r = Jobs.run(List.of("predict", "--model-file", model.toString(), "--input", bad.toString()));
    assertEquals(ExitCode.DATA.code(), r.exitCode());
    assertEquals("gradflow predict: data error: bad.csv line 3 column 2: 'abc' is not a number",
        r.err().strip());

    Path wide = Files.writeString(tmp.resolve("wide.csv"), "0.1,0.2,0.3,0.4\n");
    r = Jobs.run(List.of("predict", "--model-file", model.toString(), "--input", wide.toString()));
    assertEquals(ExitCode.DATA.code(), r.exitCode());
    assertEquals("gradflow predict: data error: wide.csv line 1: expected 2 features (or a label + 2), got 4 columns",
        r.err().strip());

    r = Jobs.run(List.of("predict", "--model-file", bad.toString(), "--input", bad.toString()));
    assertEquals(ExitCode.MODEL_FILE.code(), r.exitCode());
    assertTrue(r.err().startsWith("gradflow predict: model file error: " + bad), r.err());
    assertEquals(1, r.err().strip().lines().count(), r.err());

    r = Jobs.run(List.of("predict", "--model-file", model.toString(), "--input", bad.toString(), "--format", "xml"));
    assertEquals(ExitCode.USAGE.code(), r.exitCode());
  }
}
