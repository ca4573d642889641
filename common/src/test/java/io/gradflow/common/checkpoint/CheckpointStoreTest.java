package io.gradflow.common.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.model.ModelFileException;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.train.TrainingConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoints keep what an exact resume needs: with staleness K also the K weight versions before their step. */
class CheckpointStoreTest {
  private static final ModelSpec SPEC = ModelSpec.parse("2-5-3", "tanh", "", 5);
  private static final TrainingConfig SYNC = new TrainingConfig("spirals", 30, 3, 0.1, 0.9, 0,
      LearningRateSchedule.Kind.CONSTANT, 0, 0, 0.1, 1, 50, 9, "ejml");
  @TempDir Path dir;

  private static Network weights(long seed) {
    return Network.initialize(ModelSpec.parse("2-5-3", "tanh", "", seed));
  }

  private static float[][] velocity(Network net) {
    float[][] v = new float[net.tensorCount()][];
    for (int t = 0; t < v.length; t++) {
      v[t] = net.tensor(t).clone();
    }
    return v;
  }

  private CheckpointStore store() {
    return new CheckpointStore(dir, 3, w -> {});
  }

  /** A checkpoint's name has ASCII digits whatever the JVM's locale (a Thai default formats %d in Thai digits). */
  @Test
  void fileNamesDoNotDependOnTheLocale() {
    java.util.Locale before = java.util.Locale.getDefault();
    try {
      java.util.Locale.setDefault(java.util.Locale.forLanguageTag("th-TH-u-nu-thai"));
      assertEquals(dir.resolve("ckpt-000000000100.gfc"), store().fileFor(100));
      assertEquals(dir.resolve("ckpt-123456789012345.gfc"), store().fileFor(123456789012345L));
    } finally {
      java.util.Locale.setDefault(before);
    }
  }

  @Test
  void aStaleJobsCheckpointKeepsTheEarlierWeightVersionsBitForBit() {
    Network now = weights(1);
    List<Network> earlier = List.of(weights(2), weights(3));
    Path file = store().save(new Checkpoint(now, velocity(now), true, 20, SYNC.withStaleness(2), "f", 1.5, 4, earlier));
    Checkpoint back = CheckpointStore.load(file);
    assertEquals(20, back.step());
    assertEquals(2, back.config().staleness());
    assertEquals(now.sha256(), back.network().sha256());
    assertEquals(2, back.earlierWeights().size());
    for (int i = 0; i < 2; i++) {
      assertEquals(earlier.get(i).sha256(), back.earlierWeights().get(i).sha256(), "version " + (18 + i));
    }
  }

  @Test
  void earlyInTheJobFewerVersionsExistAndWithoutStalenessNone() {
    Network now = weights(1);
    Path early = store().save(new Checkpoint(now, velocity(now), true, 1, SYNC.withStaleness(2), "f", 0, 1, List.of(weights(2))));
    assertEquals(1, CheckpointStore.load(early).earlierWeights().size(), "versions max(0, 1 - 2) .. 0");
    Path sync = store().save(new Checkpoint(now, velocity(now), true, 10, SYNC, "f", 0, 1));
    assertTrue(CheckpointStore.load(sync).earlierWeights().isEmpty());
  }

  @Test
  void aStaleCheckpointWithoutItsVersionsIsRefused() {
    Network now = weights(1);
    Path file = store().save(new Checkpoint(now, velocity(now), true, 20, SYNC.withStaleness(2), "f", 0, 1, List.of()));
    ModelFileException e = assertThrows(ModelFileException.class, () -> CheckpointStore.load(file));
    assertTrue(e.getMessage().endsWith("0 earlier weight versions, expected 2 for staleness 2 at step 20"), e.getMessage());
  }

  /** A file where the checkpoint directory goes (operations.md's rehearsal): the message says why. */
  @Test
  void aFileWhereTheDirectoryGoesIsNamedWithTheReason() throws IOException {
    Path file = Files.writeString(dir.resolve("checkpoints"), "not a directory");
    Network now = weights(1);
    CheckpointStore store = new CheckpointStore(file, 3, w -> {});
    ModelFileException e = assertThrows(ModelFileException.class,
        () -> store.save(new Checkpoint(now, velocity(now), true, 10, SYNC, "f", 0, 1)));
    assertEquals("cannot create the checkpoint directory " + file + ": exists and is not a directory", e.getMessage());
  }

  /**
   * Only files are checkpoints: a directory with a checkpoint's name (the save that failed on it)
   * is not offered as the newest one to resume from.
   */
  @Test
  void aDirectoryWithACheckpointsNameIsNoCheckpoint() throws IOException {
    Network now = weights(1);
    Path saved = store().save(new Checkpoint(now, velocity(now), true, 10, SYNC, "f", 0, 1));
    Files.createDirectories(store().fileFor(20).resolve("in-the-way"));
    assertEquals(List.of(saved), store().list());
  }
}
