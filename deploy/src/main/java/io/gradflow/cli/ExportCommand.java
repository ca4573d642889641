package io.gradflow.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.gradflow.common.export.OnnxExport;
import io.gradflow.common.model.ModelFiles;
import io.gradflow.common.model.Network;
import io.gradflow.common.report.RunSummary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gradflow export}: a model file as an ONNX model ({@link OnnxExport}), with the job's
 * {@code summary.json} (when it lies next to the model file) as metadata.
 */
@Command(
    name = "export",
    mixinStandardHelpOptions = true,
    description = {
      "Write a model file as an ONNX model (opset 13): input scaling, Gemm + activation per layer,"
          + " Softmax; input 'input' [batch, inputs], output 'probabilities' [batch, classes].",
      "The summary.json next to the model file, if any, becomes the model's metadata."
    })
final class ExportCommand implements Callable<Integer> {
  enum Format { onnx }

  @Spec CommandSpec spec;

  @Option(names = "--model-file", required = true, paramLabel = "FILE", description = "A model.gfm written by train.")
  Path modelFile;

  @Option(names = "--format", paramLabel = "onnx", description = "Output format (default: ${DEFAULT-VALUE}).", defaultValue = "onnx")
  Format format;

  @Option(names = "--out", required = true, paramLabel = "FILE", description = "The file to write, e.g. model.onnx.")
  Path out;

  @Override
  public Integer call() {
    OutputPaths.notSameFile("--out", out, "--model-file", modelFile);
    OutputPaths.file("--out", out);
    ModelFiles.Loaded model = ModelFiles.load(modelFile);
    Network net = model.network();
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put("gradflow.model", net.spec().sizesText());
    metadata.put("gradflow.activation", net.spec().activationText());
    metadata.put("gradflow.step", Long.toString(model.step()));
    metadata.put("gradflow.weights_sha256", net.sha256());
    metadata.put("gradflow.input_scaling", model.scaling().isNone() ? "none" : model.scaling().kind());
    Path dir = modelFile.toAbsolutePath().getParent();
    Path summary = dir == null ? null : RunSummary.file(dir);
    if (summary != null && Files.isRegularFile(summary)) {
      metadata.putAll(summaryEntries(summary));
    }
    String version = new Main.Version().getVersion()[0].replaceFirst("^gradflow ", "");
    byte[] bytes = OnnxExport.toOnnx(net, model.scaling(), version, metadata).toByteArray();
    try {
      Files.write(out, bytes);
    } catch (IOException e) {
      throw OutputPaths.cannotWrite("--out", out, e);
    }
    spec.commandLine().getOut().println(
        "wrote " + out + " (ONNX opset " + OnnxExport.OPSET + ", " + bytes.length + " bytes)");
    return ExitCode.OK.code();
  }

  /** The summary's top-level entries as {@code summary.KEY}, values as JSON text (strings bare). */
  private static Map<String, String> summaryEntries(Path file) {
    Map<String, String> m = new LinkedHashMap<>();
    try {
      JsonObject o = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
      for (Map.Entry<String, JsonElement> e : o.entrySet()) {
        JsonElement v = e.getValue();
        m.put("summary." + e.getKey(),
            v.isJsonPrimitive() && v.getAsJsonPrimitive().isString() ? v.getAsString() : v.toString());
      }
    } catch (IOException | RuntimeException e) {
      // A missing or unreadable summary only costs the metadata; the model is what matters.
    }
    return m;
  }
}
