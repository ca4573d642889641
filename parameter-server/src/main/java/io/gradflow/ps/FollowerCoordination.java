package io.gradflow.ps;

import io.gradflow.common.model.Network;
import io.gradflow.common.optim.SgdOptimizer;
import io.gradflow.common.train.TrainingListener;
import io.gradflow.common.wire.ParameterRange;
import java.util.List;

/**
 * The coordinator's dealings with its followers, in a job with sharded servers ({@code --servers S >
 * 1}): before the first join it becomes the coordinator of the S servers ({@link #shard}) and seeds
 * the followers with the state it starts from ({@link #seedFollowers}); while the job runs it tells
 * {@link FollowerWatch} its generation and rolls the job back when a follower lost its state
 * ({@link #rollBack}); after the last step it takes the final weights read from the followers
 * ({@link #lastWeights}). Each call takes the coordinator's lock (its monitor), which guards the
 * job's state these calls change; the ranges, the followers and the generation are kept by {@link
 * ShardedServers}.
 */
public final class FollowerCoordination {
  private final StepCoordinator coordinator;
  private final Network net;
  private final SgdOptimizer optimizer;
  private final ShardedServers servers;
  private final WeightSnapshots snapshots;
  private final OpenSteps steps;
  private final JobPhase phase;
  private final TrainingListener listener;

  FollowerCoordination(StepCoordinator coordinator, Network net, SgdOptimizer optimizer, ShardedServers servers,
      WeightSnapshots snapshots, OpenSteps steps, JobPhase phase, TrainingListener listener) {
    this.coordinator = coordinator;
    this.net = net;
    this.optimizer = optimizer;
    this.servers = servers;
    this.snapshots = snapshots;
    this.steps = steps;
    this.phase = phase;
    this.listener = listener;
  }

  /**
   * Makes this server the coordinator of a job with {@code ranges.size()} sharded servers: it owns
   * {@code ranges.get(0)} (its pushes and pulls carry those elements only), tells the workers how
   * many servers there are at their join, and reads the other ranges from {@code followers} for
   * evaluations, checkpoints and the final model. Call before the first join and before {@link
   * StepCoordinator#useSharedMemory} (a sharded job has no shared-memory data plane).
   */
  public void shard(List<ParameterRange> ranges, FollowerStates followers) {
    synchronized (coordinator) {
      if (!servers.shard(ranges, followers)) {
        return;
      }
      coordinator.takeOnly(ranges.get(0));
      snapshots.sendOnly(ranges.get(0));
      steps.keepItemsApart();
    }
  }

  /**
   * Sharded servers: sends every follower its range of the state this coordinator starts from (the
   * initial weights, or the checkpoint it resumes from), with this coordinator's generation; a
   * follower takes it whatever it held. Blocks until every follower took it; call before the first
   * join. Nothing with one server.
   */
  public void seedFollowers() {
    ShardedServers.Seed seed;
    synchronized (coordinator) {
      if (!servers.hasFollowers()) {
        return;
      }
      seed = servers.seedOf(coordinator.step(), optimizer, coordinator.fingerprint(), net, snapshots.versions().earlier());
    }
    servers.seed(seed);
  }

  /** Sharded servers: the generation this coordinator seeds its followers with (0 with one server). */
  public long generation() {
    synchronized (coordinator) {
      return servers.generation();
    }
  }

  /**
   * A follower lost its state (it restarted): the job cannot go on, since no server holds that
   * range of the newest weights, and must roll back to its newest checkpoint. The coordinator stops
   * taking part ({@link StepCoordinator#awaitEnd} returns, {@link #rollBackReason} says why) and its
   * process restarts from the checkpoint and seeds the followers again. Nothing once the job finished.
   */
  public void rollBack(String why) {
    synchronized (coordinator) {
      if (!phase.rollBack(why)) {
        return;
      }
      listener.onEvent("rolling back: " + why + "; the coordinator restarts from the newest checkpoint and seeds every server");
      coordinator.notifyAll();
    }
  }

  /** Why the job rolls back to its newest checkpoint, or null. */
  public String rollBackReason() {
    synchronized (coordinator) {
      return phase.rollBackReason();
    }
  }

  /** Sharded servers: the final weights, with every range, become the network the job ends with. */
  void lastWeights(Network last) {
    synchronized (coordinator) {
      net.copyFrom(last);
    }
  }
}
