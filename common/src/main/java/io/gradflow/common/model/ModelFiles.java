package io.gradflow.common.model;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import io.gradflow.common.data.InputScaling;
import io.gradflow.proto.ModelFile;
import io.gradflow.proto.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;

/**
 * Saves and loads model files ({@code model.gfm}). On disk:
 *
 * <pre>
 * [0]      8 bytes   magic "GFMODEL1" (ASCII)
 * [8]      8 bytes   N, the payload length, big-endian
 * [16]     N bytes   payload: a gradflow.v1.ModelFile proto (format_version 1, spec, tensors, step,
 *                    input_scaling)
 * [16+N]   32 bytes  SHA-256 of the payload
 * </pre>
 *
 * <p>The tensors are the network's in canonical order ({@link Network#tensorName}: {@code
 * layer0.W, layer0.b, ...}) with {@link Network#tensorShape} shapes and float32 little-endian data,
 * so a save/load round trip is bit-exact. Saving is atomic: the bytes go to a temporary file in
 * the target's directory, are forced to disk, and the temporary file is renamed over the target
 * ({@link StandardCopyOption#ATOMIC_MOVE}); a reader sees the old file or the new one, never half
 * of one. The input scaling ({@link InputScaling}) is optional: files written before it existed
 * load with {@link InputScaling#NONE}, and readers then apply the scaling the input format implies
 * ({@code gradflow predict}: IDX {@code /255}, CSV none). Every problem is a one-line {@link ModelFileException} that names the file.
 */
public final class ModelFiles {
  /** The {@code format_version} written and accepted. */
  public static final int FORMAT_VERSION = 1;

  /** The first 8 bytes of a model file. */
  public static final String MAGIC = "GFMODEL1";


  private ModelFiles() {}

  /**
   * A loaded model: the network, the training step its weights come from, and the input scaling
   * of its training data ({@link InputScaling#NONE} if the file records none).
   */
  public record Loaded(Network network, long step, InputScaling scaling) {}

  /**
   * Writes {@code network} and {@code step} to {@code file} atomically, replacing it if present.
   *
   * @throws ModelFileException if the directory is missing or the file cannot be written
   */
  public static void save(Path file, Network network, long step) {
    save(file, network, step, InputScaling.NONE);
  }

  /** Writes {@code network}, {@code step} and the training inputs' {@code scaling}. */
  public static void save(Path file, Network network, long step, InputScaling scaling) {
    FramedFiles.write(file, MAGIC, payload(network, step, scaling));
  }

  /** The framed file bytes that {@link #save(Path, Network, long, InputScaling)} writes. */
  public static byte[] encode(Network network, long step, InputScaling scaling) {
    return FramedFiles.encode(MAGIC, payload(network, step, scaling));
  }

  private static byte[] payload(Network network, long step, InputScaling scaling) {
    return withScaling(toProto(network, step), scaling, network.spec().inputSize()).toByteArray();
  }

  private static ModelFile withScaling(ModelFile proto, InputScaling scaling, int inputs) {
    if (scaling.isNone()) {
      return proto;
    }
    if (scaling.features() != inputs) {
      throw new IllegalArgumentException(
          "input scaling has " + scaling.features() + " features, the model " + inputs);
    }
    io.gradflow.proto.InputScaling.Builder b =
        io.gradflow.proto.InputScaling.newBuilder().setKind(scaling.kind());
    for (int j = 0; j < inputs; j++) {
      b.addMin(scaling.min()[j]).addMax(scaling.max()[j]);
    }
    return proto.toBuilder().setInputScaling(b).build();
  }

  private static InputScaling scalingOf(ModelFile proto, int inputs, String source) {
    if (!proto.hasInputScaling()) {
      return InputScaling.NONE;
    }
    io.gradflow.proto.InputScaling s = proto.getInputScaling();
    if (s.getMinCount() != inputs || s.getMaxCount() != inputs) {
      throw new ModelFileException(
          source + ": input scaling has " + s.getMinCount() + " minimums and " + s.getMaxCount()
              + " maximums: expected " + inputs + " of each (the model's inputs)");
    }
    float[] min = new float[inputs];
    float[] max = new float[inputs];
    for (int j = 0; j < inputs; j++) {
      min[j] = s.getMin(j);
      max[j] = s.getMax(j);
    }
    return new InputScaling(s.getKind(), min, max);
  }


  /**
   * Loads a model file.
   *
   * @throws ModelFileException if it is missing, not a gradflow model, truncated, corrupt or
   *     inconsistent
   */
  public static Loaded load(Path file) {
    byte[] bytes = FramedFiles.read(file);
    return decode(bytes, file.toString());
  }

  /**
   * Loads a model file and checks that it holds a model of {@code expected}.
   *
   * @throws ModelFileException also if the file's spec differs, showing both specs
   */
  public static Loaded load(Path file, ModelSpec expected) {
    Loaded loaded = load(file);
    ModelSpec actual = loaded.network().spec();
    if (!actual.equals(expected)) {
      throw new ModelFileException(
          file + ": holds a model of spec " + actual + ", expected " + expected);
    }
    return loaded;
  }

  /** The framed file bytes of {@code network} at {@code step}, as {@link #save} writes them. */
  public static byte[] encode(Network network, long step) {
    return FramedFiles.encode(MAGIC, toProto(network, step).toByteArray());
  }

  /**
   * Decodes framed model-file bytes.
   *
   * @param source names the bytes in messages (the file path)
   */
  public static Loaded decode(byte[] bytes, String source) {
    int[] range = FramedFiles.payload(bytes, MAGIC, source, "model");
    int payloadLength = range[1];
    ModelFile proto;
    try {
      proto = ModelFile.parseFrom(CodedInputStream.newInstance(bytes, range[0], payloadLength));
    } catch (InvalidProtocolBufferException e) {
      throw new ModelFileException(
          source + ": corrupt: payload is not a gradflow ModelFile: " + e.getMessage(), e);
    } catch (IOException e) {
      throw new ModelFileException(source + ": cannot parse payload: " + e, e);
    }
    return fromProto(proto, source);
  }

  /** The proto form: format version 1, the spec, every tensor in canonical order, the step. */
  public static ModelFile toProto(Network network, long step) {
    ModelFile.Builder b =
        ModelFile.newBuilder()
            .setFormatVersion(FORMAT_VERSION)
            .setSpec(ModelSpecs.toProto(network.spec()))
            .setStep(step);
    for (int t = 0; t < network.tensorCount(); t++) {
      b.addTensors(toTensor(Network.tensorName(t), network.tensorShape(t), network.tensor(t)));
    }
    return b.build();
  }

  /**
   * The network and step of {@code proto}, after checking the version, the spec and every
   * tensor's name, shape and byte length.
   *
   * @param source names the model in messages (the file path)
   */
  public static Loaded fromProto(ModelFile proto, String source) {
    if (proto.getFormatVersion() != FORMAT_VERSION) {
      throw new ModelFileException(
          source + ": format version " + proto.getFormatVersion() + " is not supported: expected "
              + FORMAT_VERSION);
    }
    if (!proto.hasSpec()) {
      throw new ModelFileException(source + ": corrupt: the model file has no model spec");
    }
    ModelSpec spec;
    try {
      spec = ModelSpecs.fromProto(proto.getSpec());
    } catch (IllegalArgumentException e) {
      throw new ModelFileException(source + ": invalid model spec: " + e.getMessage(), e);
    }
    if (proto.getStep() < 0) {
      throw new ModelFileException(
          source + ": corrupt: step " + proto.getStep() + " is negative: expected >= 0");
    }
    Network network = new Network(spec);
    if (proto.getTensorsCount() != network.tensorCount()) {
      throw new ModelFileException(
          source + ": expected " + network.tensorCount() + " tensors for " + spec.sizesText()
              + ", got " + proto.getTensorsCount());
    }
    for (int t = 0; t < network.tensorCount(); t++) {
      Tensor tensor = proto.getTensors(t);
      String name = Network.tensorName(t);
      if (!tensor.getName().equals(name)) {
        throw new ModelFileException(
            source + ": tensor " + t + ": expected name " + name + ", got '" + tensor.getName()
                + "'");
      }
      long[] shape = network.tensorShape(t);
      long[] got = tensor.getShapeList().stream().mapToLong(Long::longValue).toArray();
      if (!Arrays.equals(shape, got)) {
        throw new ModelFileException(
            source + ": tensor " + name + ": expected shape " + Arrays.toString(shape) + ", got "
                + Arrays.toString(got));
      }
      float[] dst = network.tensor(t);
      if (tensor.getData().size() != 4L * dst.length) {
        throw new ModelFileException(
            source + ": tensor " + name + ": expected " + 4L * dst.length + " bytes ("
                + dst.length + " float32), got " + tensor.getData().size());
      }
      readFloats(tensor, dst);
    }
    return new Loaded(network, proto.getStep(), scalingOf(proto, spec.inputSize(), source));
  }

  /** A tensor of float32 little-endian bytes (one bulk copy). */
  public static Tensor toTensor(String name, long[] shape, float[] data) {
    long elements = 1;
    for (long d : shape) {
      elements *= d;
    }
    if (elements != data.length) {
      throw new IllegalArgumentException(
          "tensor " + name + ": shape " + Arrays.toString(shape) + " has " + elements
              + " elements, data has " + data.length);
    }
    ByteBuffer bytes = ByteBuffer.allocate(4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(data);
    Tensor.Builder b = Tensor.newBuilder().setName(name).setData(wrap(bytes.array()));
    for (long d : shape) {
      b.addShape(d);
    }
    return b.build();
  }

  /** The tensor's data as a new float array. */
  public static float[] toFloats(Tensor tensor) {
    int bytes = tensor.getData().size();
    if (bytes % 4 != 0) {
      throw new IllegalArgumentException(
          "tensor " + tensor.getName() + ": " + bytes + " bytes is not a whole number of float32");
    }
    float[] out = new float[bytes / 4];
    readFloats(tensor, out);
    return out;
  }

  /** Copies the tensor's float32 little-endian data into {@code dst} (exactly its length). */
  public static void readFloats(Tensor tensor, float[] dst) {
    if (tensor.getData().size() != 4L * dst.length) {
      throw new IllegalArgumentException(
          "tensor " + tensor.getName() + ": " + tensor.getData().size() + " bytes, expected "
              + 4L * dst.length);
    }
    tensor.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(dst);
  }

  private static ByteString wrap(byte[] owned) {
    // The array is ours and never written again, so it can back the ByteString without a copy.
    return UnsafeByteOperations.unsafeWrap(owned);
  }
}
