package io.gradflow.common.export;

import com.google.protobuf.ByteString;
import io.gradflow.common.data.InputScaling;
import io.gradflow.common.model.Activation;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.onnx.AttributeProto;
import io.gradflow.onnx.GraphProto;
import io.gradflow.onnx.ModelProto;
import io.gradflow.onnx.NodeProto;
import io.gradflow.onnx.OperatorSetIdProto;
import io.gradflow.onnx.StringStringEntryProto;
import io.gradflow.onnx.TensorProto;
import io.gradflow.onnx.TensorShapeProto;
import io.gradflow.onnx.TypeProto;
import io.gradflow.onnx.ValueInfoProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;

/**
 * A network as an ONNX model (IR version {@value #IR_VERSION}, opset {@value #OPSET}). The graph,
 * on {@code input} of shape {@code [batch, inputs]} (float32, {@code batch} a dynamic dimension):
 *
 * <pre>
 *   x' = (x - min) * inv_range            Sub, Mul: the training input scaling, if recorded;
 *                                         inv_range_j = 1 / (max_j - min_j), 0 for a constant column
 *   a_l = f_l(Gemm(a_(l-1), W_l, b_l))    Gemm with transB = 1 (W is stored out x in), then Relu,
 *                                         Sigmoid or Tanh (nothing for identity); no f on the last layer
 *   probabilities = Softmax(z, axis = 1)  shape [batch, classes]
 * </pre>
 *
 * <p>The scaling multiplies by the reciprocal in float32 where gradflow divides in double, so the
 * scaled inputs may differ in the last bit; the probabilities agree with gradflow's forward pass to
 * about 1e-7 ({@code OnnxExportTest} checks 1e-5 in ONNX Runtime).
 */
public final class OnnxExport {
  public static final long IR_VERSION = 8;
  public static final long OPSET = 13;
  public static final String INPUT = "input";
  public static final String OUTPUT = "probabilities";
  public static final String BATCH = "batch";

  private OnnxExport() {}

  /**
   * The ONNX model of {@code net}.
   *
   * @param scaling the training input scaling ({@link InputScaling#NONE}: none in the graph)
   * @param metadata key/value pairs for {@code metadata_props} (the training summary)
   */
  public static ModelProto toOnnx(
      Network net, InputScaling scaling, String producerVersion, Map<String, String> metadata) {
    ModelSpec spec = net.spec();
    GraphProto.Builder g = GraphProto.newBuilder().setName("gradflow " + spec.sizesText());
    g.addInput(tensorInfo(INPUT, spec.inputSize()));
    g.addOutput(tensorInfo(OUTPUT, spec.outputSize()));
    String a = INPUT;
    if (!scaling.isNone()) {
      int n = scaling.features();
      float[] inv = new float[n];
      for (int j = 0; j < n; j++) {
        double range = (double) scaling.max()[j] - scaling.min()[j];
        inv[j] = range > 0 ? (float) (1.0 / range) : 0f;
      }
      g.addInitializer(floats("scaling.min", new long[] {n}, scaling.min()));
      g.addInitializer(floats("scaling.inv_range", new long[] {n}, inv));
      g.addNode(node("Sub", "scaling.sub", new String[] {a, "scaling.min"}, "scaling.shifted"));
      g.addNode(node("Mul", "scaling.mul", new String[] {"scaling.shifted", "scaling.inv_range"}, "scaled"));
      a = "scaled";
    }
    for (int l = 0; l < spec.layerCount(); l++) {
      String w = Network.tensorName(2 * l);
      String b = Network.tensorName(2 * l + 1);
      g.addInitializer(floats(w, net.tensorShape(2 * l), net.weights(l)));
      g.addInitializer(floats(b, net.tensorShape(2 * l + 1), net.biases(l)));
      String z = "layer" + l + ".z";
      g.addNode(node("Gemm", "layer" + l + ".gemm", new String[] {a, w, b}, z).toBuilder()
          .addAttribute(AttributeProto.newBuilder().setName("transB").setType(AttributeProto.AttributeType.INT).setI(1))
          .build());
      a = z;
      if (l < spec.layerCount() - 1 && spec.activation(l) != Activation.IDENTITY) {
        String act = "layer" + l + ".a";
        g.addNode(node(opType(spec.activation(l)), "layer" + l + ".activation", new String[] {a}, act));
        a = act;
      }
    }
    g.addNode(node("Softmax", "softmax", new String[] {a}, OUTPUT).toBuilder()
        .addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(1))
        .build());
    ModelProto.Builder m = ModelProto.newBuilder()
        .setIrVersion(IR_VERSION)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
        .setProducerName("gradflow")
        .setProducerVersion(producerVersion)
        .setDocString("gradflow " + spec.sizesText() + " " + spec.activationText()
            + ": input scaling, Gemm + activation per layer, Softmax")
        .setGraph(g);
    metadata.forEach((k, v) -> m.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
    return m.build();
  }

  private static String opType(Activation a) {
    switch (a) {
      case RELU:
        return "Relu";
      case SIGMOID:
        return "Sigmoid";
      case TANH:
        return "Tanh";
      default:
        throw new IllegalArgumentException("no ONNX operator for activation " + a);
    }
  }

  private static NodeProto node(String op, String name, String[] inputs, String output) {
    NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name).addOutput(output);
    for (String in : inputs) {
      n.addInput(in);
    }
    return n.build();
  }

  /** A float32 tensor of {@code shape [batch, width]}, {@code batch} dynamic. */
  private static ValueInfoProto tensorInfo(String name, int width) {
    TensorShapeProto shape = TensorShapeProto.newBuilder()
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(BATCH))
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(width))
        .build();
    return ValueInfoProto.newBuilder()
        .setName(name)
        .setType(TypeProto.newBuilder().setTensorType(
            TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape)))
        .build();
  }

  /** A float32 initializer, its data as little-endian raw bytes. */
  private static TensorProto floats(String name, long[] shape, float[] data) {
    ByteBuffer bytes = ByteBuffer.allocate(4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(data);
    TensorProto.Builder t = TensorProto.newBuilder()
        .setName(name)
        .setDataType(TensorProto.DataType.FLOAT_VALUE)
        .setRawData(ByteString.copyFrom(bytes.array()));
    for (long d : shape) {
      t.addDims(d);
    }
    return t.build();
  }
}
