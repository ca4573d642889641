package io.gradflow.common.model;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import io.gradflow.proto.ModelFile;
import io.gradflow.proto.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * Saves and loads model files ({@code model.gfm}). On disk:
 *
 * <pre>
 * [0]      8 bytes   magic "GFMODEL1" (ASCII)
 * [8]      8 bytes   N, the payload length, big-endian
 * [16]     N bytes   payload: a gradflow.v1.ModelFile proto (format_version 1, spec, tensors, step)
 * [16+N]   32 bytes  SHA-256 of the payload
 * </pre>
 *
 * <p>The tensors are the network's in canonical order ({@link Network#tensorName}: {@code
 * layer0.W, layer0.b, ...}) with {@link Network#tensorShape} shapes and float32 little-endian data,
 * so a save/load round trip is bit-exact. Saving is atomic: the bytes go to a temporary file in
 * the target's directory, are forced to disk, and the temporary file is renamed over the target
 * ({@link StandardCopyOption#ATOMIC_MOVE}); a reader sees the old file or the new one, never half
 * of one. Every problem is a one-line {@link ModelFileException} that names the file.
 */
public final class ModelFiles {
  /** The {@code format_version} written and accepted. */
  public static final int FORMAT_VERSION = 1;

  /** The first 8 bytes of a model file. */
  public static final String MAGIC = "GFMODEL1";

  private static final byte[] MAGIC_BYTES = MAGIC.getBytes(StandardCharsets.US_ASCII);
  private static final int HEADER_BYTES = 16;
  private static final int CHECKSUM_BYTES = 32;

  private ModelFiles() {}

  /** A loaded model: the network and the training step its weights come from. */
  public record Loaded(Network network, long step) {}

  /**
   * Writes {@code network} and {@code step} to {@code file} atomically, replacing it if present.
   *
   * @throws ModelFileException if the directory is missing or the file cannot be written
   */
  public static void save(Path file, Network network, long step) {
    byte[] payload = toProto(network, step).toByteArray();
    ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.BIG_ENDIAN);
    header.put(MAGIC_BYTES).putLong(payload.length).flip();
    ByteBuffer checksum = ByteBuffer.wrap(sha256(payload, 0, payload.length));

    Path target = file.toAbsolutePath();
    Path dir = target.getParent();
    if (dir == null || !Files.isDirectory(dir)) {
      throw new ModelFileException(file + ": cannot save: directory " + dir + " does not exist");
    }
    Path tmp = null;
    try {
      FileChannel ch = null;
      for (int attempt = 0; ch == null; attempt++) {
        tmp = dir.resolve(
            "." + target.getFileName() + "." + ProcessHandle.current().pid() + "."
                + Long.toHexString(System.nanoTime()) + ".tmp");
        try {
          ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (FileAlreadyExistsException e) {
          if (attempt >= 100) {
            throw e;
          }
          tmp = null;
        }
      }
      try (FileChannel out = ch) {
        writeFully(out, header);
        writeFully(out, ByteBuffer.wrap(payload));
        writeFully(out, checksum);
        out.force(true);
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      tmp = null;
      syncDirectory(dir);
    } catch (IOException e) {
      throw new ModelFileException(file + ": cannot save: " + e, e);
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // best effort: the save already failed with a clearer message
        }
      }
    }
  }

  /**
   * Loads a model file.
   *
   * @throws ModelFileException if it is missing, not a gradflow model, truncated, corrupt or
   *     inconsistent
   */
  public static Loaded load(Path file) {
    byte[] bytes;
    try {
      long size = Files.size(file);
      if (size > Integer.MAX_VALUE - 8) {
        throw new ModelFileException(
            file + ": " + size + " bytes is larger than the 2 GiB a model file may have");
      }
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new ModelFileException(file + ": file not found");
    } catch (IOException e) {
      throw new ModelFileException(file + ": cannot read: " + e, e);
    }
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
    byte[] payload = toProto(network, step).toByteArray();
    ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + payload.length + CHECKSUM_BYTES);
    b.put(MAGIC_BYTES).putLong(payload.length).put(payload);
    b.put(sha256(payload, 0, payload.length));
    return b.array();
  }

  /**
   * Decodes framed model-file bytes.
   *
   * @param source names the bytes in messages (the file path)
   */
  public static Loaded decode(byte[] bytes, String source) {
    int m = bytes.length;
    int magicBytes = Math.min(m, MAGIC_BYTES.length);
    if (!Arrays.equals(bytes, 0, magicBytes, MAGIC_BYTES, 0, magicBytes)) {
      throw new ModelFileException(
          source + ": not a gradflow model file: starts with "
              + HexFormat.of().formatHex(bytes, 0, magicBytes) + ", expected the magic \"" + MAGIC
              + "\"");
    }
    if (m < HEADER_BYTES) {
      throw new ModelFileException(
          source + ": truncated: file has " + m + " bytes, expected at least " + HEADER_BYTES
              + " (magic and payload length)");
    }
    long n = ByteBuffer.wrap(bytes, 8, 8).order(ByteOrder.BIG_ENDIAN).getLong();
    if (n < 0 || n > Integer.MAX_VALUE) {
      throw new ModelFileException(
          source + ": corrupt: payload length " + n + " at byte 8 is not a valid length");
    }
    long expectedSize = HEADER_BYTES + n + CHECKSUM_BYTES;
    if (m < expectedSize) {
      throw new ModelFileException(
          source + ": truncated: length says " + n + " payload bytes (" + expectedSize
              + " bytes in all), file has " + m);
    }
    if (m > expectedSize) {
      throw new ModelFileException(
          source + ": corrupt: " + (m - expectedSize) + " unexpected bytes after the checksum"
              + " (length says " + n + " payload bytes, " + expectedSize + " bytes in all)");
    }
    int payloadLength = (int) n;
    byte[] actual = sha256(bytes, HEADER_BYTES, payloadLength);
    byte[] stored = Arrays.copyOfRange(bytes, HEADER_BYTES + payloadLength, m);
    if (!Arrays.equals(actual, stored)) {
      throw new ModelFileException(
          source + ": corrupt: SHA-256 of the " + n + "-byte payload is "
              + HexFormat.of().formatHex(actual, 0, 8) + "..., the file says "
              + HexFormat.of().formatHex(stored, 0, 8) + "...");
    }
    ModelFile proto;
    try {
      proto = ModelFile.parseFrom(CodedInputStream.newInstance(bytes, HEADER_BYTES, payloadLength));
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
    return new Loaded(network, proto.getStep());
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

  private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  /** Makes the rename durable where the platform allows opening a directory (Linux, macOS). */
  private static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Not supported on every platform (Windows); the file itself is already on disk.
    }
  }

  private static byte[] sha256(byte[] b, int off, int len) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(b, off, len);
      return md.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 missing from the JDK", e);
    }
  }
}
