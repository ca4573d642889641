package io.gradflow.common.checkpoint;

import io.gradflow.common.model.FramedFiles;
import io.gradflow.common.model.ModelFileException;
import io.gradflow.common.model.ModelFiles;
import io.gradflow.common.model.Network;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.util.IoErrors;
import io.gradflow.proto.ModelFile;
import io.gradflow.proto.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A directory of checkpoints {@code ckpt-<step>.gfc}, each written atomically in the {@link
 * FramedFiles} frame (magic {@code GFCKPT01}, SHA-256). Keeps the newest {@code keep}; loading
 * takes the newest valid one and falls back, with a warning, past corrupt or truncated ones.
 */
public final class CheckpointStore {
  /** The first 8 bytes of a checkpoint file. */
  public static final String MAGIC = "GFCKPT01";

  private static final Pattern NAME = Pattern.compile("ckpt-(\\d+)\\.gfc");

  private final Path dir;
  private final int keep;
  private final Consumer<String> warn;

  public CheckpointStore(Path dir, int keep, Consumer<String> warn) {
    if (keep < 1) {
      throw new IllegalArgumentException("--keep-checkpoints must be at least 1, got " + keep);
    }
    this.dir = dir;
    this.keep = keep;
    this.warn = warn;
  }

  public Path dir() {
    return dir;
  }

  /**
   * The file of the checkpoint at {@code step}: {@code ckpt-} and the step in at least 12 ASCII
   * digits. Not {@code String.format}, whose digits are the default locale's, and whose first call
   * loads the locale data on the server's background thread while the first epoch trains.
   */
  public Path fileFor(long step) {
    String digits = Long.toString(step);
    return dir.resolve("ckpt-" + "0".repeat(Math.max(0, 12 - digits.length())) + digits + ".gfc");
  }

  /** Writes {@code c} atomically, then deletes all but the newest {@code keep} checkpoints. */
  public Path save(Checkpoint c) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) { // a file in the way: "exists and is not a directory"
      throw new ModelFileException("cannot create the checkpoint directory " + dir + ": " + IoErrors.why(e), e);
    }
    Path file = fileFor(c.step());
    FramedFiles.write(file, MAGIC, toProto(c).toByteArray());
    List<Path> all = list();
    for (int i = keep; i < all.size(); i++) {
      try {
        Files.deleteIfExists(all.get(i));
      } catch (IOException e) {
        warn.accept("cannot delete old checkpoint " + all.get(i) + ": " + e.getMessage());
      }
    }
    return file;
  }

  /** Checkpoint files, newest (highest step) first; a directory with a checkpoint's name is none. */
  public List<Path> list() {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(dir)) {
      List<Path> out = new ArrayList<>();
      files.filter(p -> NAME.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p)).forEach(out::add);
      out.sort(Comparator.comparingLong(CheckpointStore::stepOf).reversed());
      return out;
    } catch (IOException e) {
      throw new ModelFileException(dir + ": cannot list checkpoints: " + e.getMessage(), e);
    }
  }

  /**
   * The newest checkpoint that loads; corrupt or truncated newer ones are skipped with a warning.
   * Empty when there is none.
   */
  public Optional<Checkpoint> loadNewestValid() {
    for (Path file : list()) {
      try {
        return Optional.of(load(file));
      } catch (ModelFileException e) {
        warn.accept("skipping checkpoint: " + e.getMessage());
      }
    }
    return Optional.empty();
  }

  /** Loads one checkpoint file. */
  public static Checkpoint load(Path file) {
    byte[] bytes = FramedFiles.read(file);
    int[] range = FramedFiles.payload(bytes, MAGIC, file.toString(), "checkpoint");
    io.gradflow.proto.Checkpoint p;
    try {
      p = io.gradflow.proto.Checkpoint.parseFrom(
          com.google.protobuf.CodedInputStream.newInstance(bytes, range[0], range[1]));
    } catch (IOException e) {
      throw new ModelFileException(file + ": corrupt: payload is not a gradflow Checkpoint: " + e.getMessage(), e);
    }
    ModelFiles.Loaded model = ModelFiles.fromProto(p.getModel(), file.toString());
    Network net = model.network();
    if (p.getVelocityCount() != net.tensorCount()) {
      throw new ModelFileException(
          file + ": " + p.getVelocityCount() + " momentum tensors, expected " + net.tensorCount());
    }
    float[][] velocity = new float[net.tensorCount()][];
    for (int t = 0; t < velocity.length; t++) {
      velocity[t] = new float[net.tensor(t).length];
      try {
        ModelFiles.readFloats(p.getVelocity(t), velocity[t]);
      } catch (IllegalArgumentException e) {
        throw new ModelFileException(file + ": momentum " + e.getMessage());
      }
    }
    TrainingConfig config;
    try {
      config = TrainingConfig.fromProto(p.getConfig());
    } catch (IllegalArgumentException e) {
      throw new ModelFileException(file + ": corrupt training config: " + e.getMessage());
    }
    List<Network> earlier = new ArrayList<>();
    for (int i = 0; i < p.getEarlierWeightsCount(); i++) {
      ModelFiles.Loaded version = ModelFiles.fromProto(p.getEarlierWeights(i), file.toString());
      if (!java.util.Arrays.equals(version.network().spec().layerSizes(), net.spec().layerSizes())) {
        throw new ModelFileException(file + ": earlier weights " + i + " have another model than the checkpoint's");
      }
      earlier.add(version.network());
    }
    long expected = model.step() - Math.max(0, model.step() - config.staleness());
    if (earlier.size() != expected) {
      throw new ModelFileException(file + ": " + earlier.size() + " earlier weight versions, expected " + expected
          + " for staleness " + config.staleness() + " at step " + model.step());
    }
    return new Checkpoint(net, velocity, p.getOptimizerStarted(), model.step(), config,
        p.getFingerprint(), p.getEpochLossSum(), p.getEpochSteps(), List.copyOf(earlier));
  }

  private static io.gradflow.proto.Checkpoint toProto(Checkpoint c) {
    ModelFile model = ModelFiles.toProto(c.network(), c.step());
    io.gradflow.proto.Checkpoint.Builder b = io.gradflow.proto.Checkpoint.newBuilder()
        .setFormatVersion(1)
        .setModel(model)
        .setOptimizerStarted(c.optimizerStarted())
        .setConfig(c.config().toProto())
        .setFingerprint(c.fingerprint())
        .setEpochLossSum(c.epochLossSum())
        .setEpochSteps(c.epochSteps())
        .setWrittenUnixMillis(System.currentTimeMillis());
    long firstEarlier = c.step() - c.earlierWeights().size();
    for (int i = 0; i < c.earlierWeights().size(); i++) {
      b.addEarlierWeights(ModelFiles.toProto(c.earlierWeights().get(i), firstEarlier + i));
    }
    for (int t = 0; t < c.velocity().length; t++) {
      Tensor w = model.getTensors(t);
      b.addVelocity(ModelFiles.toTensor("momentum." + w.getName(), shapeOf(w), c.velocity()[t]));
    }
    return b.build();
  }

  private static long[] shapeOf(Tensor t) {
    long[] shape = new long[t.getShapeCount()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = t.getShape(i);
    }
    return shape;
  }

  private static long stepOf(Path p) {
    Matcher m = NAME.matcher(p.getFileName().toString());
    return m.matches() ? Long.parseLong(m.group(1)) : -1;
  }
}
