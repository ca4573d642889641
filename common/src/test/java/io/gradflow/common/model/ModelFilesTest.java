package io.gradflow.common.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.gradflow.proto.ModelFile;
import io.gradflow.proto.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelFilesTest {
  @TempDir Path dir;

  private static final ModelSpec SPEC = ModelSpec.parse("5-4-3-2", "relu,tanh", "", 17);

  /** A seeded network with awkward values: -0, the smallest subnormal, a NaN with a payload. */
  private static Network network() {
    Network n = Network.initialize(SPEC);
    n.biases(0)[0] = -0.0f;
    n.biases(0)[1] = Float.MIN_VALUE;
    n.biases(1)[2] = Float.intBitsToFloat(0x7fc0_1234);
    n.biases(2)[1] = 0.25f;
    return n;
  }

  private static byte[] frame(byte[] payload) throws Exception {
    ByteBuffer b = ByteBuffer.allocate(16 + payload.length + 32);
    b.put(ModelFiles.MAGIC.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    b.putLong(payload.length).put(payload);
    b.put(MessageDigest.getInstance("SHA-256").digest(payload));
    return b.array();
  }

  private Path saved() {
    Path f = dir.resolve("model.gfm");
    ModelFiles.save(f, network(), 1234);
    return f;
  }

  private Path writeFramed(ModelFile proto) throws Exception {
    return Files.write(dir.resolve("bad.gfm"), frame(proto.toByteArray()));
  }

  private static String loadError(Path f) {
    return assertThrows(ModelFileException.class, () -> ModelFiles.load(f)).getMessage();
  }

  @Test
  void roundTripIsBitExact() {
    Network original = network();
    Path f = saved();
    ModelFiles.Loaded loaded = ModelFiles.load(f);
    assertEquals(1234, loaded.step());
    assertEquals(SPEC, loaded.network().spec());
    assertEquals(original.sha256(), loaded.network().sha256());
    for (int t = 0; t < original.tensorCount(); t++) {
      float[] a = original.tensor(t);
      float[] b = loaded.network().tensor(t);
      for (int i = 0; i < a.length; i++) {
        assertEquals(Float.floatToRawIntBits(a[i]), Float.floatToRawIntBits(b[i]));
      }
    }
    assertEquals(original.sha256(), ModelFiles.load(f, SPEC).network().sha256());
  }

  @Test
  void fileLayoutIsMagicLengthPayloadChecksum() throws Exception {
    byte[] bytes = Files.readAllBytes(saved());
    assertEquals("GFMODEL1", new String(bytes, 0, 8, java.nio.charset.StandardCharsets.US_ASCII));
    long n = ByteBuffer.wrap(bytes, 8, 8).getLong();
    assertEquals(bytes.length, 16 + n + 32);
    byte[] payload = java.util.Arrays.copyOfRange(bytes, 16, 16 + (int) n);
    assertArrayEquals(frame(payload), bytes);
    ModelFile proto = ModelFile.parseFrom(payload);
    assertEquals(1, proto.getFormatVersion());
    assertEquals(1234, proto.getStep());
    assertEquals(6, proto.getTensorsCount());
    assertEquals("layer1.b", proto.getTensors(3).getName());
    assertEquals(List.of(4L, 5L), proto.getTensors(0).getShapeList());
    assertArrayEquals(ModelFiles.encode(network(), 1234), bytes);
  }

  @Test
  void tensorBytesAreFloat32LittleEndian() {
    Tensor t = ModelFiles.toTensor("x", new long[] {2}, new float[] {1.0f, -2.5f});
    assertEquals(
        ByteString.copyFrom(new byte[] {0, 0, (byte) 0x80, 0x3f, 0, 0, 0x20, (byte) 0xc0}),
        t.getData());
    assertArrayEquals(new float[] {1.0f, -2.5f}, ModelFiles.toFloats(t));
    assertThrows(
        IllegalArgumentException.class,
        () -> ModelFiles.toTensor("x", new long[] {3}, new float[] {1f, 2f}));
  }

  @Test
  void specConvertsBothWays() {
    io.gradflow.proto.ModelSpec p = ModelSpecs.toProto(SPEC);
    assertEquals(List.of(5, 4, 3, 2), p.getLayerSizesList());
    assertEquals(List.of("relu", "tanh"), p.getActivationsList());
    assertEquals("he", p.getInit());
    assertEquals(17, p.getSeed());
    assertEquals(SPEC, ModelSpecs.fromProto(p));
    ModelSpec negativeSeed = ModelSpec.parse("3-2", "relu", "xavier", -5);
    assertEquals(negativeSeed, ModelSpecs.fromProto(ModelSpecs.toProto(negativeSeed)));
    assertThrows(
        IllegalArgumentException.class,
        () -> ModelSpecs.fromProto(p.toBuilder().setActivations(0, "gelu").build()));
  }

  @Test
  void missingFile() {
    Path f = dir.resolve("none.gfm");
    assertEquals(f + ": file not found", loadError(f));
  }

  @Test
  void wrongMagic() throws IOException {
    Path f = Files.writeString(dir.resolve("x.gfm"), "PK\u0003\u0004 this is a zip file, honest");
    assertEquals(
        f + ": not a gradflow model file: starts with 504b030420746869, expected the magic"
            + " \"GFMODEL1\"",
        loadError(f));
  }

  @Test
  void truncatedFile() throws IOException {
    Path f = saved();
    byte[] bytes = Files.readAllBytes(f);
    Files.write(f, java.util.Arrays.copyOf(bytes, bytes.length - 10));
    long n = bytes.length - 48;
    assertEquals(
        f + ": truncated: length says " + n + " payload bytes (" + bytes.length
            + " bytes in all), file has " + (bytes.length - 10),
        loadError(f));
    Files.write(f, java.util.Arrays.copyOf(bytes, 12));
    assertEquals(
        f + ": truncated: file has 12 bytes, expected at least 16 (magic and payload length)",
        loadError(f));
    Files.write(f, java.util.Arrays.copyOf(bytes, 5));
    assertTrue(loadError(f).contains("truncated: file has 5 bytes"));
  }

  @Test
  void trailingBytesAreCorruption() throws IOException {
    Path f = saved();
    byte[] bytes = Files.readAllBytes(f);
    Files.write(f, java.util.Arrays.copyOf(bytes, bytes.length + 3));
    assertTrue(loadError(f).contains("corrupt: 3 unexpected bytes after the checksum"));
  }

  @Test
  void flippedByteIsCorrupt() throws IOException {
    Path f = saved();
    byte[] bytes = Files.readAllBytes(f);
    for (int at : new int[] {16, bytes.length / 2, bytes.length - 1}) {
      byte[] copy = bytes.clone();
      copy[at] ^= 0x01;
      Files.write(f, copy);
      String msg = loadError(f);
      assertTrue(msg.startsWith(f + ": corrupt: SHA-256 of the "), msg);
    }
  }

  @Test
  void unparseablePayloadWithValidChecksum() throws Exception {
    Path f = Files.write(dir.resolve("bad.gfm"), frame(new byte[] {(byte) 0xff, (byte) 0xff, 1}));
    assertTrue(
        loadError(f).startsWith(f + ": corrupt: payload is not a gradflow ModelFile"),
        loadError(f));
  }

  @Test
  void unsupportedFormatVersionAndBadSpec() throws Exception {
    ModelFile good = ModelFiles.toProto(network(), 3);
    Path f = writeFramed(good.toBuilder().setFormatVersion(2).build());
    assertEquals(f + ": format version 2 is not supported: expected 1", loadError(f));
    f = writeFramed(good.toBuilder().clearSpec().build());
    assertEquals(f + ": corrupt: the model file has no model spec", loadError(f));
    f = writeFramed(good.toBuilder().setSpec(good.getSpec().toBuilder().setInit("zeros")).build());
    assertEquals(
        f + ": invalid model spec: unknown initialisation 'zeros': expected he or xavier",
        loadError(f));
  }

  @Test
  void tensorOfWrongNameShapeOrLength() throws Exception {
    ModelFile good = ModelFiles.toProto(network(), 3);
    Tensor w0 = good.getTensors(0);
    Path f =
        writeFramed(good.toBuilder().setTensors(0, w0.toBuilder().setName("layer0.w")).build());
    assertEquals(f + ": tensor 0: expected name layer0.W, got 'layer0.w'", loadError(f));
    Tensor transposed = w0.toBuilder().clearShape().addShape(5).addShape(4).build();
    f = writeFramed(good.toBuilder().setTensors(0, transposed).build());
    assertEquals(f + ": tensor layer0.W: expected shape [4, 5], got [5, 4]", loadError(f));
    f = writeFramed(
        good.toBuilder()
            .setTensors(0, w0.toBuilder().setData(w0.getData().substring(0, 76)))
            .build());
    assertEquals(f + ": tensor layer0.W: expected 80 bytes (20 float32), got 76", loadError(f));
    f = writeFramed(good.toBuilder().removeTensors(5).build());
    assertEquals(f + ": expected 6 tensors for 5-4-3-2, got 5", loadError(f));
  }

  @Test
  void refusesAnotherSpecShowingBoth() {
    Path f = saved();
    ModelSpec other = ModelSpec.parse("5-8-2", "relu", "", 17);
    ModelFileException e =
        assertThrows(ModelFileException.class, () -> ModelFiles.load(f, other));
    assertEquals(
        f + ": holds a model of spec 5-4-3-2 relu,tanh init=he seed=17, expected 5-8-2 relu"
            + " init=he seed=17",
        e.getMessage());
  }

  @Test
  void atomicSaveReplacesAndLeavesNoTemporaryFiles() throws IOException {
    Path f = dir.resolve("model.gfm");
    ModelFiles.save(f, network(), 1);
    Network changed = network();
    changed.weights(1)[0] += 1f;
    ModelFiles.save(f, changed, 2);
    ModelFiles.Loaded loaded = ModelFiles.load(f);
    assertEquals(2, loaded.step());
    assertEquals(changed.sha256(), loaded.network().sha256());
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(List.of(f), files.toList());
    }
  }

  @Test
  void failedSaveLeavesNothingBehind() throws IOException {
    Path missing = dir.resolve("no-such-dir").resolve("model.gfm");
    ModelFileException e =
        assertThrows(ModelFileException.class, () -> ModelFiles.save(missing, network(), 0));
    assertEquals(
        missing + ": cannot save: directory " + missing.getParent() + " does not exist",
        e.getMessage());
    // the target is a non-empty directory: the rename fails and the temporary file is removed
    Path target = Files.createDirectories(dir.resolve("model.gfm"));
    Files.writeString(target.resolve("keep"), "x");
    assertThrows(ModelFileException.class, () -> ModelFiles.save(target, network(), 0));
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(List.of(target), files.toList());
    }
  }

  @Test
  void inputScalingRoundTripsAndOldFilesLoadWithout() throws Exception {
    Network net = network();
    io.gradflow.common.data.InputScaling scaling =
        new io.gradflow.common.data.InputScaling(
            io.gradflow.common.data.InputScaling.CSV_KIND,
            new float[] {-1f, 0f, 2.5f, 3f, -0f},
            new float[] {1f, 255f, 7.25f, 3f, 1e-3f});
    Path file = dir.resolve("scaled.gfm");
    ModelFiles.save(file, net, 9, scaling);
    ModelFiles.Loaded loaded = ModelFiles.load(file);
    assertEquals(scaling.kind(), loaded.scaling().kind());
    assertArrayEquals(scaling.min(), loaded.scaling().min());
    assertArrayEquals(scaling.max(), loaded.scaling().max());
    assertEquals(net.sha256(), loaded.network().sha256());

    // A file without the field (as written before it existed) loads with no scaling.
    Path old = dir.resolve("old.gfm");
    Files.write(old, frame(ModelFiles.toProto(net, 9).toByteArray()));
    assertTrue(ModelFiles.load(old).scaling().isNone());

    // A scaling of the wrong width is refused, naming the file.
    ModelFile bad =
        ModelFiles.toProto(net, 9).toBuilder()
            .setInputScaling(io.gradflow.proto.InputScaling.newBuilder().addMin(0).addMax(1))
            .build();
    Path badFile = dir.resolve("bad.gfm");
    Files.write(badFile, frame(bad.toByteArray()));
    ModelFileException e = assertThrows(ModelFileException.class, () -> ModelFiles.load(badFile));
    assertTrue(e.getMessage().startsWith(badFile + ": input scaling has 1 minimums"), e.getMessage());

    // Truncation is still refused.
    byte[] bytes = Files.readAllBytes(file);
    Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 1));
    assertThrows(ModelFileException.class, () -> ModelFiles.load(file));
  }
}
