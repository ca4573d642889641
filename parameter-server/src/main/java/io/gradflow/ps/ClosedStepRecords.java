package io.gradflow.ps;

import io.gradflow.common.checkpoint.Checkpoint;
import io.gradflow.common.model.Network;
import io.gradflow.common.train.EpochBookkeeping;
import java.util.List;

/**
 * What a closed step leaves that the next step need not wait for: the test evaluation at the end of
 * an epoch, a checkpoint when one is due and, after the last step, the final weights (with the
 * followers' ranges, sharded servers) and the job's finish. It takes the copies they read when the
 * step closes and hands the work to {@link BackgroundWork}'s thread, in the order of the steps.
 * Guarded by the coordinator's lock (the coordinator calls it while closing a step; it does not lock
 * itself); the tasks run without the lock and report back through calls that take it ({@link
 * StepCoordinator#checkpointWritten}, {@link FollowerCoordination#lastWeights}, {@link
 * StepCoordinator#finishAfterBackgroundWork}).
 */
final class ClosedStepRecords {
  private final StepCoordinator coordinator;
  private final Network net;
  private final EpochBookkeeping epochs;
  private final StepCheckpoints checkpoints;
  private final WeightSnapshots snapshots;
  private final ShardedServers servers;
  private final BackgroundWork background;

  ClosedStepRecords(StepCoordinator coordinator, Network net, EpochBookkeeping epochs, StepCheckpoints checkpoints,
      WeightSnapshots snapshots, ShardedServers servers, BackgroundWork background) {
    this.coordinator = coordinator;
    this.net = net;
    this.epochs = epochs;
    this.checkpoints = checkpoints;
    this.snapshots = snapshots;
    this.servers = servers;
    this.background = background;
  }

  /**
   * A step closed and {@code step} steps are applied: the epoch's evaluation when the step ended one,
   * and a checkpoint when one is due, go to the background thread.
   */
  void stepClosed(long step) {
    Network weights = null;
    if (epochs.endsEpoch(step - 1)) {
      weights = net.copy();
      EpochBookkeeping.ClosedEpoch closed = epochs.close(step - 1);
      Network evaluated = weights;
      background.submit(() -> {
        servers.fill(step, evaluated, null, null, false);
        epochs.report(closed, evaluated);
      });
    }
    checkpointIfDue(step, weights);
  }

  /**
   * The last step closed ({@code step} steps applied): after the work already submitted, sharded
   * servers read the final weights from the followers, then the job finishes; the background thread
   * takes no more work.
   */
  void lastStepClosed(long step) {
    if (servers.hasFollowers()) {
      Network last = net.copy();
      background.submit(() -> {
        servers.fill(step, last, null, null, true);
        coordinator.followers().lastWeights(last);
      });
    }
    background.submit(coordinator::finishAfterBackgroundWork);
    background.shutdown();
  }

  /**
   * Hands a checkpoint of the state after {@code step} applied steps to the background thread when
   * one is due; {@code weights} is a copy of the weights taken already, or null.
   */
  private void checkpointIfDue(long step, Network weights) {
    if (!checkpoints.dueAfter(step)) {
      return;
    }
    List<Network> earlier = snapshots.versions().earlier(); // copies: the followers' ranges go into them
    Checkpoint state = checkpoints.snapshot(step, weights != null ? weights : net.copy(), earlier, epochs);
    background.submit(() -> {
      servers.fill(state.step(), state.network(), state.velocity(), state.earlierWeights(), false);
      coordinator.checkpointWritten(checkpoints.write(state));
    });
  }
}
