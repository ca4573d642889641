package io.gradflow.ps;

import io.gradflow.common.checkpoint.Checkpoint;
import io.gradflow.common.checkpoint.CheckpointStore;
import io.gradflow.common.model.Network;
import io.gradflow.common.optim.SgdOptimizer;
import io.gradflow.common.train.EpochBookkeeping;
import io.gradflow.common.train.TrainingConfig;
import java.nio.file.Path;
import java.util.List;

/**
 * The server's checkpoints: when one is due (every N steps and at the end of the job), what it
 * holds (weights, momentum, step, the unfinished epoch's loss), and where it goes.
 */
final class StepCheckpoints {
  private final CheckpointStore store;
  private final long every;
  private final long totalSteps;
  private final Network net;
  private final SgdOptimizer optimizer;
  private final TrainingConfig config;
  private final String fingerprint;

  /**
   * @param store where checkpoints go, null for none
   * @param every steps between checkpoints (0: only at the end)
   */
  StepCheckpoints(CheckpointStore store, long every, long totalSteps, Network net, SgdOptimizer optimizer,
      TrainingConfig config, String fingerprint) {
    this.store = store;
    this.every = every;
    this.totalSteps = totalSteps;
    this.net = net;
    this.optimizer = optimizer;
    this.config = config;
    this.fingerprint = fingerprint;
  }

  /**
   * Continues from {@code resume} (null: a fresh job): restores the momentum and the unfinished
   * epoch's loss; returns the number of steps already applied.
   */
  long restore(Checkpoint resume, EpochBookkeeping epochs) {
    if (resume == null) {
      return 0;
    }
    if (!resume.fingerprint().equals(fingerprint)) {
      throw new IllegalArgumentException(
          "checkpoint of another job: its fingerprint " + resume.fingerprint() + " differs from " + fingerprint);
    }
    optimizer.restore(resume.velocity(), resume.optimizerStarted());
    epochs.restore(resume.epochLossSum(), resume.epochSteps());
    return resume.step();
  }

  /** True when the state after {@code step} applied steps must be saved. */
  boolean dueAfter(long step) {
    return store != null && (step >= totalSteps || (every > 0 && step % every == 0));
  }

  /**
   * The state after {@code step} applied steps, copied (the momentum buffers) so that it can be
   * written while the job goes on; {@code weights} must be a copy of the network already, {@code
   * earlier} the weight versions the open steps compute on before {@code step} (staleness K:
   * versions {@code max(0, step - K) .. step - 1}, never written again; empty for K = 0). The open
   * steps' partial sums are not saved: after a resume their micro-shards are computed again on the
   * same versions, which gives the same bits.
   */
  Checkpoint snapshot(long step, Network weights, List<Network> earlier, EpochBookkeeping epochs) {
    float[][] velocity = new float[net.tensorCount()][];
    for (int t = 0; t < velocity.length; t++) {
      velocity[t] = optimizer.velocity(t).clone();
    }
    return new Checkpoint(weights, velocity, optimizer.started(), step, config, fingerprint, epochs.epochLossSum(),
        epochs.epochSteps(), earlier);
  }

  /** Writes a {@link #snapshot}; returns null, or why it could not be saved (a {@link SaveFailure} reason naming the newest good checkpoint: the job must fail). Safe on another thread. */
  String write(Checkpoint checkpoint) {
    try {
      store.save(checkpoint);
      return null;
    } catch (RuntimeException e) {
      return SaveFailure.PREFIX + "the checkpoint of step " + checkpoint.step() + ": " + e.getMessage() + resumeHint();
    }
  }

  /**
   * Why the final save (model.gfm, summary.json) failed, as a {@link SaveFailure} reason naming the
   * newest good checkpoint.
   */
  String finalSaveFailed(RuntimeException e) {
    return SaveFailure.PREFIX + "the final model: " + e.getMessage() + resumeHint();
  }

  /** "; newest good checkpoint: FILE (...)", or that there is none. */
  String resumeHint() {
    List<Path> files;
    try {
      files = store == null ? List.of() : store.list();
    } catch (RuntimeException e) {
      files = List.of();
    }
    if (files.isEmpty()) {
      return "; no checkpoint to resume from";
    }
    return "; newest good checkpoint: " + files.get(0) + " (when the disk has room again: gradflow server --resume "
        + store.dir() + " ...)";
  }
}
