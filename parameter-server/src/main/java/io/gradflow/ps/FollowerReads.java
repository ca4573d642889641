package io.gradflow.ps;

import io.gradflow.common.model.Network;
import io.gradflow.common.train.TrainingSetup;
import io.gradflow.common.wire.ParameterRange;
import io.gradflow.common.wire.RangeChunks;
import io.gradflow.proto.EarlierWeightsChunk;
import io.gradflow.proto.TensorChunk;
import io.gradflow.proto.WeightsHeader;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * What a {@link RangeFollower} keeps of its range for those who read it, and the reads that wait
 * for a version not made yet: the workers' pulls of a version's weights, the coordinator's reads
 * of a state. No thread waits with them: the follower answers them as it applies a step.
 *
 * <p>Which versions can be asked for: the coordinator's open steps (from {@code c} on) compute on
 * versions from {@code c - K} on, and the follower is at most {@code K + 1} steps ahead of it (it
 * cannot close step {@code c + K + 1} before the coordinator opened it), so the versions {@code
 * applied - 2K - 1 .. applied} are kept. The coordinator reads the state after the steps its
 * evaluations, checkpoints and the end need ({@link #dueForCoordinator}); those are kept until
 * read.
 *
 * <p>Guarded by the follower's monitor; it does not lock itself. The follower's weights ({@code
 * net}) and optimizer are its own, read here only to copy a version or a state.
 */
final class FollowerReads {
  private record ParkedState(long version, boolean last, RangeFollower.StateAnswer answer) {}

  private record ParkedPull(long step, long version, PullAnswer answer) {}

  private final int index;
  private final Network net;
  private final ParameterRange range;
  private final TrainingSetup setup;
  private final int staleness;
  private final long every;
  /** The follower's: the coordinator read its final state (called where the read is answered). */
  private final Runnable finalRead;
  private final TreeMap<Long, List<TensorChunk>> versions = new TreeMap<>();
  private final TreeMap<Long, RangeFollower.State> kept = new TreeMap<>();
  private final List<ParkedState> states = new ArrayList<>();
  private final List<ParkedPull> pulls = new ArrayList<>();

  /**
   * @param index the follower's server index, for messages
   * @param net the follower's weights (only {@code range} of them is the job's)
   * @param setup the follower's setup: its optimizer, plan and total steps
   * @param checkpointEvery the coordinator's {@code --checkpoint-every} (0: at the end only)
   * @param finalRead run when the coordinator's final read is answered
   */
  FollowerReads(int index, Network net, ParameterRange range, TrainingSetup setup, int staleness, long checkpointEvery,
      Runnable finalRead) {
    this.index = index;
    this.net = net;
    this.range = range;
    this.setup = setup;
    this.staleness = staleness;
    this.every = checkpointEvery;
    this.finalRead = finalRead;
  }

  // ---- versions kept

  /**
   * A seed: drops every version and state kept and keeps the seed's, {@code earlier} being the
   * versions {@code applied - earlier.size() .. applied - 1} and {@code net} (seeded already) version
   * {@code applied}; reads parked by an earlier coordinator fail.
   */
  void seeded(long applied, List<Network> earlier) {
    versions.clear();
    kept.clear();
    for (int i = 0; i < earlier.size(); i++) {
      versions.put(applied - earlier.size() + i, RangeChunks.floats(range, WeightSnapshots.tensorsOf(earlier.get(i))));
    }
    versions.put(applied, RangeChunks.floats(range, WeightSnapshots.tensorsOf(net)));
    failStates(() -> JobRefusal.notReady("server " + index + " was seeded again by a restarted coordinator"));
    failPulls(JobRefusal.rejoin("server " + index + " was seeded again by a restarted coordinator: join the coordinator again"));
  }

  /**
   * Step {@code applied} was applied to {@code net}: keeps its version (and its state, when due)
   * and forgets the versions no longer asked for.
   */
  void stepApplied(long applied) {
    versions.put(applied, RangeChunks.floats(range, WeightSnapshots.tensorsOf(net)));
    versions.headMap(applied - 2L * staleness - 1).clear();
    if (dueForCoordinator(applied)) {
      kept.put(applied, stateNow(applied));
    }
  }

  /**
   * True when the coordinator will read the state after {@code version} applied steps: the end of
   * an epoch (its test evaluation), a checkpoint ({@code --checkpoint-every}), the end of the job.
   */
  boolean dueForCoordinator(long version) {
    return version % setup.plan().stepsPerEpoch() == 0 || version >= setup.totalSteps() || (every > 0 && version % every == 0);
  }

  /** The state after {@code applied} steps, copied into chunks. */
  private RangeFollower.State stateNow(long applied) {
    float[][] velocity = new float[net.tensorCount()][];
    for (int t = 0; t < velocity.length; t++) {
      velocity[t] = setup.update().optimizer().velocity(t);
    }
    List<EarlierWeightsChunk> earlier = new ArrayList<>();
    for (long v = Math.max(0, applied - staleness); v < applied; v++) {
      for (TensorChunk c : versions.get(v)) {
        earlier.add(EarlierWeightsChunk.newBuilder().setVersion(v).setChunk(c).build());
      }
    }
    return new RangeFollower.State(applied, setup.update().optimizer().started(), versions.get(applied),
        RangeChunks.floats(range, velocity), earlier);
  }

  // ---- the workers' pulls

  /** A worker's pull of {@code step} at {@code applied} applied steps: see {@link RangeFollower#pull}. */
  void pull(long step, long applied, PullAnswer answer) {
    long version = Math.max(0, step - staleness);
    if (version == applied + 1 && version <= setup.totalSteps()) {
      pulls.add(new ParkedPull(step, version, answer));
      return;
    }
    if (version > applied) {
      throw JobRefusal.rejoin("pull of step " + (step + 1) + " (version " + version + ") but server " + index + " has applied "
          + applied + " steps (the servers rolled back to a checkpoint): join the coordinator again");
    }
    answer.answer(pullAnswer(step, version, applied));
  }

  /** Forgets a waiting pull (its call ended). */
  void cancelPull(PullAnswer answer) {
    pulls.removeIf(p -> p.answer() == answer);
  }

  /** Pulls waiting for the next version (for tests). */
  int waitingPulls() {
    return pulls.size();
  }

  /** Answers the waiting pulls whose version exists now, at {@code applied} applied steps. */
  private void answerPulls(long applied) {
    for (Iterator<ParkedPull> it = pulls.iterator(); it.hasNext(); ) {
      ParkedPull p = it.next();
      if (p.version() <= applied) {
        it.remove();
        try {
          p.answer().answer(pullAnswer(p.step(), p.version(), applied));
        } catch (JobRefusal e) {
          p.answer().fail(e);
        }
      }
    }
  }

  /** Fails every waiting pull with {@code why} (after a seed or a failure, or when the server stops). */
  private void failPulls(JobRefusal why) {
    for (Iterator<ParkedPull> it = pulls.iterator(); it.hasNext(); ) {
      ParkedPull p = it.next();
      it.remove();
      p.answer().fail(why);
    }
  }

  private Pull pullAnswer(long step, long version, long applied) {
    List<TensorChunk> chunks = versions.get(version);
    if (chunks == null) {
      throw JobRefusal.refused("server " + index + " no longer keeps version " + version + " of its range (it has applied "
          + applied + " steps); the coordinator should not have handed out step " + (step + 1));
    }
    return new Pull(WeightsHeader.State.READY, step, 0, 0, chunks, false, version);
  }

  // ---- the coordinator's reads

  /**
   * The coordinator's read of the state after {@code version} steps, at {@code applied} applied
   * steps: see {@link RangeFollower#state}.
   */
  void state(long version, boolean last, long applied, RangeFollower.StateAnswer answer) {
    if (version > applied) {
      states.add(new ParkedState(version, last, answer));
      return;
    }
    answer.answer(stateAt(version, last, applied));
  }

  private RangeFollower.State stateAt(long version, boolean last, long applied) {
    RangeFollower.State s = kept.get(version);
    if (s == null && version == applied) {
      s = stateNow(applied);
    }
    if (s == null) {
      throw JobRefusal.refused("server " + index + " kept no state after " + version + " steps (it has applied " + applied + ")");
    }
    kept.headMap(version, false).clear(); // the coordinator reads in order: what is older is not asked for again
    if (last) {
      finalRead.run();
    }
    return s;
  }

  /** Step {@code applied} was applied: answers the parked reads and the waiting pulls whose version exists now. */
  void answerReady(long applied) {
    for (Iterator<ParkedState> it = states.iterator(); it.hasNext(); ) {
      ParkedState p = it.next();
      if (p.version() <= applied) {
        it.remove();
        try {
          p.answer().answer(stateAt(p.version(), p.last(), applied));
        } catch (JobRefusal e) {
          p.answer().fail(e);
        }
      }
    }
    answerPulls(applied);
  }

  /** The job failed here ({@code failure}): every parked read and waiting pull fails as stopped. */
  void failAll(String failure) {
    failStates(() -> JobRefusal.jobStopped("the job stopped: " + failure));
    failPulls(JobRefusal.jobStopped("the job stopped: " + failure));
  }

  /** The server stops: every parked read and waiting pull fails as SHUTTING_DOWN. */
  void failWaiting() {
    failStates(() -> JobRefusal.shuttingDown("server " + index + " shutting down"));
    failPulls(JobRefusal.shuttingDown("server " + index + " shutting down"));
  }

  /** Fails every parked read, each with a refusal of its own from {@code why}. */
  private void failStates(Supplier<JobRefusal> why) {
    for (Iterator<ParkedState> it = states.iterator(); it.hasNext(); ) {
      ParkedState p = it.next();
      it.remove();
      p.answer().fail(why.get());
    }
  }
}
