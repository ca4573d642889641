package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.gradflow.common.data.InputScaling;
import io.gradflow.common.export.OnnxExport;
import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.model.ModelFiles;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.train.Predictor;
import io.gradflow.common.util.SplitMix64;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gradflow export --format onnx}, run in ONNX Runtime: its probabilities match gradflow's
 * forward pass ({@link Predictor}) within 1e-5 on 300 rows, in one batch of 257 and in batches of
 * 1, for ReLU, sigmoid and tanh nets of two and three hidden layers, with a CSV-style input scaling
 * (one constant column).
 */
class OnnxExportTest {
  static final int ROWS = 300;
  static final int BIG_BATCH = 257;

  @TempDir Path tmp;

  private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({
    "relu, 12-16-9-5", "relu, 12-16-9-7-5",
    "sigmoid, 12-16-9-5", "sigmoid, 12-16-9-7-5",
    "tanh, 12-16-9-5", "tanh, 12-16-9-7-5"
  })
  void onnxRuntimeMatchesGradflowsForwardPass(String activation, String sizes) throws Exception {
    ModelSpec spec = ModelSpec.parse(sizes, activation, "", 11);
    Network net = Network.initialize(spec);
    SplitMix64 rng = new SplitMix64(sizes.length() * 31L + activation.length());
    for (int l = 0; l < net.layerCount(); l++) {
      float[] b = net.biases(l);
      for (int i = 0; i < b.length; i++) {
        b[i] = (float) (0.3 * rng.nextGaussian());
      }
    }
    int n = spec.inputSize();
    float[] min = new float[n];
    float[] max = new float[n];
    for (int j = 0; j < n; j++) {
      min[j] = (float) (10 * rng.nextGaussian());
      max[j] = j == 3 ? min[j] : min[j] + (float) (1 + 50 * rng.nextDouble());
    }
    InputScaling scaling = new InputScaling(InputScaling.CSV_KIND, min, max);
    float[] raw = new float[ROWS * n];
    for (int r = 0; r < ROWS; r++) {
      for (int j = 0; j < n; j++) {
        raw[r * n + j] = min[j] + (float) ((max[j] - min[j] + 1) * (rng.nextDouble() * 1.2 - 0.1));
      }
    }
    Path model = tmp.resolve("model.gfm");
    ModelFiles.save(model, net, 7, scaling);
    Path onnx = export(model);

    float[] expected = new Predictor(net, scaling, Kernels.byName(Kernels.DEFAULT)).probabilities(raw, ROWS);
    int classes = spec.outputSize();
    try (OrtSession s = ENV.createSession(Files.readAllBytes(onnx), new OrtSession.SessionOptions())) {
      long[] inShape = ((TensorInfo) s.getInputInfo().get(OnnxExport.INPUT).getInfo()).getShape();
      assertArrayEquals(new long[] {-1, n}, inShape, "dynamic batch dimension");
      double maxDiff = 0;
      maxDiff = Math.max(maxDiff, compare(s, raw, 0, BIG_BATCH, n, expected, classes));
      for (int r = BIG_BATCH; r < ROWS; r++) {
        maxDiff = Math.max(maxDiff, compare(s, raw, r, 1, n, expected, classes));
      }
      assertTrue(maxDiff < 1e-5, "max abs difference " + maxDiff);
    }
  }

  /** Runs rows {@code [from, from+rows)} in one batch; returns the max abs difference. */
  private static double compare(OrtSession s, float[] raw, int from, int rows, int n, float[] expected, int classes)
      throws Exception {
    try (OnnxTensor x = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(raw, from * n, rows * n), new long[] {rows, n});
        OrtSession.Result result = s.run(Map.of(OnnxExport.INPUT, x))) {
      float[][] p = (float[][]) result.get(OnnxExport.OUTPUT).get().getValue();
      assertEquals(rows, p.length);
      double max = 0;
      for (int r = 0; r < rows; r++) {
        for (int j = 0; j < classes; j++) {
          max = Math.max(max, Math.abs(p[r][j] - expected[(from + r) * classes + j]));
        }
      }
      return max;
    }
  }

  private Path export(Path model) {
    Path onnx = model.resolveSibling("model.onnx");
    Jobs.Run r = Jobs.run(List.of("export", "--model-file", model.toString(), "--format", "onnx", "--out", onnx.toString()));
    assertEquals(0, r.exitCode(), r.err());
    return onnx;
  }

  @Test
  void trainedModelCarriesProducerAndTrainingSummaryAsMetadata() throws Exception {
    Path out = tmp.resolve("job");
    List<String> args = new java.util.ArrayList<>(List.of("train", "--workers", "0", "--out", out.toString()));
    args.addAll(Jobs.spiralsJob(10));
    assertEquals(0, Jobs.run(args).exitCode());
    Path onnx = export(out.resolve("model.gfm"));
    try (OrtSession s = ENV.createSession(Files.readAllBytes(onnx), new OrtSession.SessionOptions())) {
      assertEquals("gradflow", s.getMetadata().getProducerName());
      Map<String, String> meta = s.getMetadata().getCustomMetadata();
      assertEquals(Jobs.summary(out).weightsSha256(), meta.get("summary.weights_sha256"));
      assertEquals("2-24-24-3", meta.get("gradflow.model"));
      assertEquals(List.of(OnnxExport.OUTPUT), List.copyOf(s.getOutputNames()));
    }
  }
}
