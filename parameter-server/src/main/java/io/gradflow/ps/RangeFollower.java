package io.gradflow.ps;

import io.gradflow.common.model.Network;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.train.TrainingSetup;
import io.gradflow.common.wire.ParameterRange;
import io.gradflow.proto.EarlierWeightsChunk;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.PushResponse;
import io.gradflow.proto.TensorChunk;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;

/**
 * A follower of a job with sharded servers (server i > 0 of S): it owns one {@link ParameterRange}
 * of the flattened parameters and keeps no membership and no plan. It takes pushes of (step,
 * micro-shards) for its range from any worker, adds each micro-shard of a step at most once (a push
 * whose micro-shards are all in already is acknowledged as a duplicate and not added), closes step
 * t when every micro-shard of it is in (after step t - 1), applies the update and answers pulls of
 * its range of the next versions. The coordinator (server 0) decides who computes what; the
 * follower only counts.
 *
 * <p>A follower keeps nothing on disk: it starts empty and answers every call UNAVAILABLE until the
 * coordinator seeds it ({@link #seed}) with its range of the state the coordinator starts from
 * (fresh or a checkpoint), and a seed resets whatever it held (a coordinator restarted from a
 * checkpoint behind it). The seed names the coordinator's generation; a push must carry the same
 * one, so a push computed for an earlier coordinator is not counted (the worker joins again).
 *
 * <p>Which steps can arrive: a worker pushes step t only after it pulled version {@code max(0, t -
 * K)} of this range from here, so pushes come for the open steps {@code applied .. applied + K}
 * (earlier ones are duplicates). Which versions it keeps for pulls and for the coordinator's reads,
 * and the reads that wait for a version, are {@link FollowerReads}.
 *
 * <p>Micro-shards are accepted all or nothing per push. The coordinator's work items only ever
 * split into smaller items when a worker is lost (never merged across items: {@link
 * MicroShardAssignment} in a sharded job), so a push's micro-shards are either all in or none in; a
 * push that is partly in is refused. All state is guarded by this object's monitor.
 */
public final class RangeFollower {
  /** One open step: which micro-shards are in and their exact sum (of this range). */
  private static final class OpenStep {
    long step;
    final boolean[] covered;
    int coveredCount;
    final ExactGradientSum sum;

    OpenStep(int microShards, Network shape) {
      covered = new boolean[microShards];
      sum = new ExactGradientSum(shape);
    }
  }

  /** The state after {@code version} applied steps, as the coordinator reads it. */
  record State(long version, boolean optimizerStarted, List<TensorChunk> weights, List<TensorChunk> velocity,
      List<EarlierWeightsChunk> earlier) {}

  /** Receives a state once it exists (called with the follower's lock held). */
  interface StateAnswer {
    void answer(State state);

    void fail(JobRefusal refusal);
  }

  private final int index;
  private final Network net;
  private final ParameterRange range;
  private final TrainingSetup setup;
  private final int staleness;
  private final String fingerprint;
  private final int microShards;
  private final io.gradflow.common.wire.PushPrecision precision;
  private final PushSession.Tensors tensors;
  private final Deque<OpenStep> open = new ArrayDeque<>();
  private final Deque<OpenStep> spare = new ArrayDeque<>();
  private final Deque<long[][]> stagingPool = new ArrayDeque<>();
  private final FollowerReads reads;
  private long applied;
  private long duplicates;
  private long reduceNanos;
  private long updateNanos;
  private String failure;
  private boolean finished;
  /** The coordinator generation that seeded this follower; 0: not seeded since it started. */
  private long generation;

  /**
   * @param index this server's index (1..S-1), for messages
   * @param job the job (its spec, config and data; the state comes with {@link #seed})
   * @param range the range this follower owns
   * @param checkpointEvery the coordinator's {@code --checkpoint-every} (0: at the end only)
   */
  public RangeFollower(int index, ServerJob job, ParameterRange range, long checkpointEvery) {
    this.index = index;
    this.net = job.network();
    this.range = range;
    this.setup = TrainingSetup.of(net, job.config(), job.data().train().count());
    this.staleness = job.config().staleness();
    this.microShards = job.config().microShards();
    this.precision = job.config().pushPrecision();
    this.tensors = PushSession.Tensors.of(net, range);
    this.fingerprint = new JobIdentity(net, job.config()).fingerprint();
    for (int i = 0; i <= staleness; i++) {
      spare.add(new OpenStep(microShards, net));
    }
    this.reads = new FollowerReads(index, net, range, setup, staleness, checkpointEvery, this::finalReadAnswered);
  }

  /**
   * Takes the coordinator's state for this range, whatever this follower held: {@code step}
   * applied steps, the weights and momentum ({@code weights}, {@code velocity}: only this range's
   * elements are read) and, with staleness K, the versions {@code step - earlier.size() .. step -
   * 1}. Open steps and their partial sums are dropped (they are handed out again), and reads parked
   * by an earlier coordinator fail. Returns the steps applied before, or -1 when it held no state.
   */
  public synchronized long seed(long generation, String jobFingerprint, long step, boolean optimizerStarted, Network weights,
      float[][] velocity, List<Network> earlier) {
    if (generation == 0) {
      throw JobRefusal.badRequest("a seed names the coordinator's generation, got 0");
    }
    if (!fingerprint.equals(jobFingerprint)) {
      throw JobRefusal.refused("server " + index + " serves another job (fingerprint " + fingerprint.substring(0, 12)
          + "), not the coordinator's (" + (jobFingerprint.length() > 12 ? jobFingerprint.substring(0, 12) : jobFingerprint)
          + "): start it with the coordinator's job options");
    }
    if (step < 0 || step > totalSteps() || earlier.size() != Math.min(step, staleness)) {
      throw JobRefusal.badRequest("a seed of " + step + " applied steps with " + earlier.size() + " earlier version(s): expected 0.."
          + totalSteps() + " steps and " + Math.min(Math.max(step, 0), staleness) + " earlier version(s)");
    }
    long before = this.generation == 0 ? -1 : applied;
    float[][] v = new float[net.tensorCount()][];
    for (int t = 0; t < v.length; t++) {
      int from = range.from()[t];
      int n = range.lengthIn(t);
      System.arraycopy(weights.tensor(t), from, net.tensor(t), from, n);
      v[t] = setup.update().optimizer().velocity(t).clone();
      System.arraycopy(velocity[t], from, v[t], from, n);
    }
    setup.update().optimizer().restore(v, optimizerStarted);
    applied = step;
    while (!open.isEmpty()) {
      OpenStep s = open.removeFirst();
      s.sum.clear();
      spare.add(s);
    }
    reads.seeded(applied, earlier);
    failure = null;
    finished = false;
    this.generation = generation;
    openDue();
    notifyAll();
    return before;
  }

  /** The coordinator generation that seeded this follower, 0 before its first seed. */
  public synchronized long generation() {
    return generation;
  }

  private void checkSeeded() {
    if (generation == 0) {
      throw JobRefusal.notReady("server " + index + " (a follower) holds no state yet: it waits for the coordinator's seed");
    }
  }

  private void checkGeneration(PushHeader h) {
    if (h.getServerGeneration() != generation) {
      throw JobRefusal.rejoin("push for coordinator generation " + Long.toHexString(h.getServerGeneration()) + " but server " + index
          + " was seeded by generation " + Long.toHexString(generation) + " (the coordinator restarted): join the coordinator again");
    }
  }

  /** The range this follower owns. */
  public ParameterRange range() {
    return range;
  }

  /** Steps applied so far. */
  public synchronized long applied() {
    return applied;
  }

  /** The whole network as this follower holds it (only its range is the job's). */
  synchronized Network network() {
    return net;
  }

  private long totalSteps() {
    return setup.totalSteps();
  }

  /** Opens every step up to {@code min(applied + K, totalSteps - 1)} not open yet. */
  private void openDue() {
    long next = open.isEmpty() ? applied : open.peekLast().step + 1;
    for (long t = next; t <= Math.min(applied + staleness, totalSteps() - 1); t++) {
      OpenStep s = spare.poll();
      s.step = t;
      Arrays.fill(s.covered, false);
      s.coveredCount = 0;
      open.addLast(s);
    }
  }

  private OpenStep openStep(long step) {
    for (OpenStep s : open) {
      if (s.step == step) {
        return s;
      }
    }
    return null;
  }

  // ---- pushes

  /** A push begins: its header must be well formed; returns the session that stages its chunks (outside the lock). */
  public synchronized FollowerPush beginPush(PushHeader h) {
    if (failure != null) {
      throw JobRefusal.jobStopped("the job stopped: " + failure);
    }
    checkSeeded();
    PushSession.checkHeader(h, microShards, precision, false);
    checkGeneration(h);
    if (h.getStep() > applied + staleness) { // never in a running job: the servers rolled back to a checkpoint
      throw JobRefusal.rejoin("push for step " + (h.getStep() + 1) + " but server " + index + " has applied " + applied
          + " steps (the servers rolled back to a checkpoint): join the coordinator again");
    }
    long[][] staging = stagingPool.poll();
    if (staging == null) {
      staging = new long[tensors.lengths().length][];
      for (int t = 0; t < staging.length; t++) {
        staging[t] = new long[tensors.lengths()[t]];
      }
    }
    return new FollowerPush(h, tensors, staging);
  }

  /** Drops a push (broken stream or refused chunk): nothing of it was added. */
  public synchronized void abortPush(FollowerPush push) {
    stagingPool.add(push.staging());
  }

  /**
   * Adds a complete push to its step's sum unless its micro-shards are in already (a duplicate);
   * closes the steps that are complete, in order.
   */
  public synchronized PushResponse commitPush(FollowerPush push) {
    stagingPool.add(push.staging());
    long start = System.nanoTime();
    reduceNanos += push.stagingNanos();
    push.checkComplete();
    PushHeader h = push.header();
    checkGeneration(h); // seeded again while the push was staged
    OpenStep s = openStep(h.getStep());
    boolean duplicate;
    if (h.getStep() < applied || s == null) {
      duplicate = true; // closed: every micro-shard of it is in
    } else {
      int in = 0;
      for (int m = h.getShardFirst(); m < h.getShardEnd(); m++) {
        in += s.covered[m] ? 1 : 0;
      }
      if (in > 0 && in < h.getShardEnd() - h.getShardFirst()) {
        throw JobRefusal.refused("micro-shards [" + h.getShardFirst() + ", " + h.getShardEnd() + ") of step " + (h.getStep() + 1)
            + " are partly in at server " + index + " already (" + in + " of them): a push adds all of its micro-shards or none");
      }
      duplicate = in > 0;
      if (!duplicate) {
        push.addTo(s.sum);
        reduceNanos += System.nanoTime() - start;
        for (int m = h.getShardFirst(); m < h.getShardEnd(); m++) {
          s.covered[m] = true;
        }
        s.coveredCount += h.getShardEnd() - h.getShardFirst();
      }
    }
    if (duplicate) {
      duplicates++;
    }
    while (failure == null && !open.isEmpty() && open.peekFirst().coveredCount == microShards) {
      closeStep();
    }
    if (failure != null) {
      throw JobRefusal.jobStopped("the job stopped: " + failure);
    }
    return PushResponse.newBuilder().setStep(h.getStep()).setDuplicate(duplicate).build();
  }

  /** Every micro-shard of the earliest open step is in: the update of this range, and the next version. */
  private void closeStep() {
    OpenStep s = open.removeFirst();
    long start = System.nanoTime();
    setup.update().apply(net, s.sum, applied, range); // this range only: the rest of net is not the job's here
    updateNanos += System.nanoTime() - start;
    spare.add(s);
    if (!setup.update().optimizer().lastWeightsFinite()) { // checked in the update's own pass
      fail("the weights of " + range + " became non-finite at step " + (applied + 1) + ": lower --lr");
      return;
    }
    applied++;
    reads.stepApplied(applied);
    openDue();
    reads.answerReady(applied);
  }

  // ---- pulls and the coordinator's reads

  /**
   * A worker's pull of step {@code step}: this range of the weights of version {@code max(0, step -
   * K)}. A worker asks here together with its pull at the coordinator, before the coordinator
   * answered: the version exists then, or it is the next one ({@code applied + 1}), which this
   * follower makes when the step it has open closes (the coordinator answers that pull once it
   * closed the same step), and the pull waits for it without a thread ({@link #cancelPull} when its
   * call ends first). A version further ahead means the servers rolled back to a checkpoint since
   * the worker's last answer: the worker is asked to join again.
   */
  public synchronized void pull(long step, PullAnswer answer) {
    if (failure != null) {
      throw JobRefusal.jobStopped("the job stopped: " + failure);
    }
    checkSeeded();
    reads.pull(step, applied, answer);
  }

  /** Forgets a waiting pull (its call ended). */
  public synchronized void cancelPull(PullAnswer answer) {
    reads.cancelPull(answer);
  }

  /** Pulls waiting for the next version (for tests). */
  synchronized int waitingPulls() {
    return reads.waitingPulls();
  }

  /**
   * The coordinator reads the state after {@code version} applied steps; answered once it exists.
   * {@code last}: its final read, after which this follower's job is over.
   */
  public synchronized void state(long version, boolean last, StateAnswer answer) {
    if (failure != null) {
      throw JobRefusal.jobStopped("the job stopped: " + failure);
    }
    checkSeeded();
    reads.state(version, last, applied, answer);
  }

  /** The coordinator's final read was answered: this follower's job is over ({@link #awaitEnd}). */
  private void finalReadAnswered() {
    finished = true;
    notifyAll();
  }

  /** The server stops: every waiting call fails as SHUTTING_DOWN. */
  public synchronized void failWaiting() {
    reads.failWaiting();
  }

  private void fail(String reason) {
    if (failure == null) {
      failure = reason;
    }
    reads.failAll(failure);
    notifyAll();
  }

  /** Time spent staging and adding pushes so far. */
  public synchronized long reduceNanos() {
    return reduceNanos;
  }

  /** Time spent in the update so far. */
  public synchronized long updateNanos() {
    return updateNanos;
  }

  /** Duplicate pushes acknowledged so far. */
  public synchronized long duplicates() {
    return duplicates;
  }

  /** Waits until the coordinator read the final state or the job failed here; returns the failure or null. */
  public synchronized String awaitEnd() throws InterruptedException {
    while (!finished && failure == null) {
      wait();
    }
    return failure;
  }
}
