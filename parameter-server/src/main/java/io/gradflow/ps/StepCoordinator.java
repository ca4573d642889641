package io.gradflow.ps;

import io.gradflow.common.model.Network;
import io.gradflow.common.train.EpochBookkeeping;
import io.gradflow.common.train.JobInfo;
import io.gradflow.common.train.TrainingListener;
import io.gradflow.common.train.TrainingSetup;
import io.gradflow.common.train.WeightVersions;
import io.gradflow.common.wire.ParameterRange;
import io.gradflow.proto.PullRequest;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.PushResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The synchronous training loop as seen from the server, without gRPC plumbing: it holds the job's
 * state and its lock, answers the workers' pulls and pushes, and opens and closes steps;
 * {@link WorkerAdmission} takes their joins, readiness, heartbeats and leaves under the same lock.
 * Its helpers, guarded by its lock, keep the rest: {@link JobPhase} (assembling, running or paused,
 * ending, finished, failed, rolling back), {@link Membership} (joins, readiness, liveness),
 * {@link MembershipChanges} (lost workers' micro-shards handed over, pauses and resumes),
 * {@link MicroShardAssignment} (who computes what), {@link PullAnswers} (pulls answered at once or
 * parked until they can be), {@link PushSession} (one push being staged), {@link LocalPlane}
 * (shared memory and the exchange socket for the workers on this host), {@link ClosedStepRecords}
 * (what a closed step hands to the background thread) and {@link ShardedServers} (the followers,
 * with sharded servers); {@link FollowerCoordination} takes the calls about the followers (seeding
 * them, rolling back) under the same lock. A call the job refuses throws a {@link JobRefusal}.
 *
 * <p>Step {@code s} is open when the weights of version {@code s} exist. Every micro-shard
 * {@code 0..M-1} of the step must be pushed exactly once; the fixed-point sums are added in
 * whatever order they arrive (the sum is exact, so the order cannot matter), and when the last
 * micro-shard is in, the step closes: the optimizer is applied once, the step is recorded, and
 * step {@code s+1} opens. What the next step need not wait for runs on {@link BackgroundWork}'s
 * thread, from copies taken under the lock: the test evaluation at the end of an epoch, the
 * checkpoints, and, after the last step, the job's final report.
 *
 * <p>With staleness K ({@link OpenSteps}) step {@code t} computes on the weights of version {@code
 * max(0, t - K)} ({@link WeightSnapshots}), so steps {@code s .. s + K} are open together after
 * {@code s} applied steps, each with its own assignment and exact sum; a complete step closes once
 * every step before it has, and its closing opens step {@code s + K + 1}. K = 0 is the above.
 *
 * <p>A push is staged per worker and added to the step's sum only when it is complete and valid,
 * so a broken or refused push changes nothing. All state is guarded by this object's monitor.
 */
public final class StepCoordinator {
  private final Network net;
  private final JobIdentity identity;
  private final ServerJob job;
  private final ServerPolicy policy;
  private final TrainingListener listener;
  private final TrainingSetup setup;
  private PushSession.Tensors tensors;
  private final StepCheckpoints checkpoints;
  private final StepTimings timings;
  private final BackgroundWork background = new BackgroundWork(this::backgroundFailed);
  private final ClosedStepRecords records;

  private final Membership membership;
  private final OpenSteps steps;
  private final WeightSnapshots snapshots;
  private final PullAnswers pulls;
  private final MembershipChanges changes;
  private final EpochBookkeeping epochs;
  private final JobPhase phase = new JobPhase();
  private long step;
  private long duplicatePushes;
  /** The shared-memory plane and exchange socket of the workers on this host, or null. */
  private LocalPlane plane;
  private final ShardedServers servers = new ShardedServers();
  private final FollowerCoordination followers;
  private final WorkerAdmission admission;
  /** Threads in {@link #awaitAllLeft}: {@link #changed} wakes them whenever they are there. */
  private int awaitingAllLeft;

  public StepCoordinator(ServerJob job, ServerPolicy policy, TrainingListener listener) {
    this.job = job;
    this.policy = policy;
    this.net = job.network();
    this.listener = new SerializedListener(listener);
    this.identity = new JobIdentity(net, job.config());
    this.setup = TrainingSetup.of(net, job.config(), job.data().train().count());
    this.epochs = new EpochBookkeeping(setup, job.data(), this.listener);
    this.membership = new Membership(job.data().train().sha256(), job.data().train().count());
    this.checkpoints = new StepCheckpoints(policy.checkpoints(), policy.checkpointEvery(), setup.totalSteps(), net,
        setup.update().optimizer(), job.config(), identity.fingerprint());
    this.timings = new StepTimings(Math.min(20, setup.totalSteps() / 5));
    this.tensors = PushSession.Tensors.of(net);
    this.step = checkpoints.restore(job.resumeFrom(), epochs);
    int staleness = job.config().staleness();
    this.steps = new OpenSteps(setup.plan(), policy.backupWorkers(), staleness, net, step);
    this.snapshots = new WeightSnapshots(new WeightVersions(net, staleness, step,
        job.resumeFrom() == null ? List.of() : job.resumeFrom().earlierWeights()));
    this.records = new ClosedStepRecords(this, net, epochs, checkpoints, snapshots, servers, background);
    this.pulls = new PullAnswers(phase, steps, snapshots);
    this.changes = new MembershipChanges(membership, steps, phase, policy.minWorkers(), this.listener);
    this.followers = new FollowerCoordination(this, net, setup.update().optimizer(), servers, snapshots, steps, phase, this.listener);
    this.admission = new WorkerAdmission(this, identity, membership, steps, phase, changes, servers, job.workers(), this.listener);
  }

  /**
   * Offers the workers on this host the shared-memory data plane under {@code root} (normally
   * {@code /dev/shm}); without it, or when the plane cannot be made there, everything goes through
   * the socket. Call before the first join.
   */
  public synchronized void useSharedMemory(Path root) {
    if (servers.sharded()) {
      return; // the weights and pushes of several servers would need a file per range
    }
    plane = LocalPlane.open(root, tensors.lengths(), job.config().staleness(), job.config().pushPrecision(), this, listener::onEvent);
  }

  /** The calls about the followers of a job with sharded servers (seeding them, rolling back). */
  public FollowerCoordination followers() {
    return followers;
  }

  /** The workers' calls to join, say they are ready, beat and leave. */
  public WorkerAdmission admission() {
    return admission;
  }

  /** The shared-memory plane and exchange socket of the workers on this host, or null (read under the lock). */
  LocalPlane plane() {
    return plane;
  }

  /** Pushes carry the elements of {@code range} only (a job with sharded servers); call before the first join. */
  void takeOnly(ParameterRange range) {
    tensors = PushSession.Tensors.of(net, range);
  }

  /** Deletes the shared-memory files (the server stops). */
  public synchronized void closeSharedMemory() {
    if (plane != null) {
      plane.close();
    }
  }

  /**
   * Lets the listener rehearse the job's start ({@link TrainingListener#rehearseStart}) and compiles
   * the server's loops before the first step ({@link ServerWarmUp}, {@code passes} passes; 0: none).
   * Runs without the lock, on a scratch copy of the weights only, while the job assembles.
   */
  public void warmUp(int passes) {
    Network scratch;
    JobInfo start;
    synchronized (this) {
      scratch = passes > 0 ? net.copy() : null;
      start = epochs.jobInfo(net.spec(), job.workers(), step);
    }
    listener.rehearseStart(start);
    if (passes > 0) {
      ServerWarmUp.run(scratch, job.config(), passes);
    }
  }

  public String fingerprint() {
    return identity.fingerprint();
  }

  /** Number of parameters of the model. */
  public long parameterCount() {
    return net.spec().parameterCount();
  }

  /** Number of tensors in the model (two per layer). */
  public int tensorCount() {
    return tensors.lengths().length;
  }

  // ---- the workers' calls

  /**
   * Answers a pull: at once when the worker has work (or the job is over), otherwise when a step
   * with work for it opens, or NOT_YET after {@code timeoutMillis} (see {@link #checkDeadlines()}).
   */
  public synchronized void pull(PullRequest request, long timeoutMillis, PullAnswer answer) {
    Member m = membership.member(request.getWorkerId());
    long now = System.nanoTime();
    m.seen(now);
    pulls.pull(m, request, step, now + TimeUnit.MILLISECONDS.toNanos(timeoutMillis), answer);
  }

  /** Forgets a waiting pull (its call was cancelled). */
  public synchronized void cancelPull(PullAnswer answer) {
    pulls.cancel(answer);
  }

  /**
   * Declares lost every live worker silent for longer than the policy's timeout, and answers
   * NOT_YET to every pull that waited past its timeout. The server calls it a few times per second.
   */
  public synchronized void checkDeadlines() {
    long now = System.nanoTime();
    admission.loseSilent(now, TimeUnit.MILLISECONDS.toNanos(policy.workerTimeoutMillis()));
    pulls.answerOverdue(now, step);
  }

  /** The server stops: every waiting pull fails as SHUTTING_DOWN (its worker retries elsewhen). */
  public synchronized void failWaitingPulls() {
    pulls.failWaiting();
  }

  /** Begins a push (see {@link PushSession#begin}); its chunks go to the session, then {@link #commitPush} or {@link #abortPush}. */
  public synchronized PushSession beginPush(PushHeader h) {
    Member m = membership.member(h.getWorkerId());
    PushSession push = PushSession.begin(m, h, phase.started(), steps, job.config().pushPrecision(), tensors);
    m.seen(System.nanoTime());
    return push;
  }

  /** Drops a push (broken stream or refused chunk): nothing of it was added. */
  public synchronized void abortPush(PushSession push) {
    push.abort();
  }

  /**
   * Adds a complete staged push to its step's sum; when that completed the earliest open step, it
   * closes, and so do the complete steps after it. A duplicate is acknowledged and dropped.
   */
  public synchronized PushResponse commitPush(PushSession push) {
    PushSession.Commit done = push.commit(steps, timings, phase.stepsClose() && !servers.sharded());
    if (done == PushSession.Commit.DUPLICATE) {
      duplicatePushes++;
    }
    long[][] last = push.deferred(); // not null: the push completed the first open step, which closes now
    while (done == PushSession.Commit.COMPLETED_STEP && phase.stepsClose() && steps.firstComplete()) {
      closeStep(last);
      last = null;
    }
    if (last != null) {
      push.addTo(steps.first().sum()); // not reached: the step closes above
    }
    return PushResponse.newBuilder().setStep(push.header().getStep()).setDuplicate(done == PushSession.Commit.DUPLICATE).build();
  }

  // ---- wake-ups

  /**
   * Something changed (a step opened, a worker left, the job ended): answer the waiting pulls that
   * can be, and wake the threads waiting on this monitor ({@link #awaitEnd}, {@link #awaitAllLeft})
   * only when what they wait for may have come: every step ends here, and a wake-up per step costs
   * the two busy cores a context switch and the closing thread a contended monitor.
   */
  void changed() {
    if (phase.over() || awaitingAllLeft > 0) {
      notifyAll();
    }
    pulls.answerReady(System.nanoTime(), step);
  }

  // ---- opening and closing steps

  /** Enough workers are ready ({@link WorkerAdmission#ready}): the job starts, or resumes from its checkpoint. */
  void start() {
    phase.start();
    if (step > 0) {
      listener.onEvent("resuming at step " + (step + 1) + " from a checkpoint");
    }
    try {
      epochs.start(net.spec(), job.workers(), step);
    } catch (RuntimeException e) { // the listener could not open the job's output (--out): the job fails, nobody waits
      fail(SaveFailure.PREFIX + "the job's output: " + e.getMessage());
      return;
    }
    if (step >= setup.totalSteps()) {
      finish();
      return;
    }
    if (plane != null) {
      for (long v = snapshots.versions().versionFor(step); v < step; v++) { // a resumed job's earlier versions
        plane.publish(v, snapshots.versions().version(v));
      }
    }
    openSteps();
  }

  /**
   * The steps whose weights exist open (step {@code step} and, with staleness K, up to step {@code
   * step + K}): their micro-shards go to the ready workers; the newest weights are published.
   */
  private void openSteps() {
    List<Member> ready = membership.readyMembers();
    if (plane != null) {
      plane.publish(step, net);
    }
    if (steps.openDue(setup.totalSteps() - 1, ready) > 0) {
      phase.resume();
      if (ready.size() < policy.minWorkers()) {
        changes.resumeIfEnoughWorkers(); // pauses
      }
    }
    changed();
  }

  /**
   * All micro-shards of the earliest open step are in: one optimizer update, the step recorded, its
   * weights kept as the newest version, and the next step opens.
   * The test evaluation (end of an epoch), a checkpoint when due and the final report go to the
   * background thread with copies of what they read. {@code lastPush}: the step's last push, not added
   * into its sum, that the update adds in its pass ({@link PushSession#deferred}), or null.
   */
  private void closeStep(long[][] lastPush) {
    long start = System.nanoTime();
    double loss = applyUpdate(steps.first(), lastPush);
    if (!setup.update().optimizer().lastWeightsFinite()) { // checked in the update's own pass
      fail("the weights became non-finite at step " + (step + 1) + " (loss " + loss + "): lower --lr");
      return;
    }
    steps.closeFirst();
    step++;
    snapshots.advance();
    records.stepClosed(step);
    if (step >= setup.totalSteps()) {
      phase.end();
      snapshots.clear();
      records.lastStepClosed(step);
    } else {
      openSteps();
    }
    timings.addUpdate(step - 1, System.nanoTime() - start);
    changed();
  }

  /**
   * Applies the reduced gradient of {@code open} (step {@code step}) once and tells the bookkeeping;
   * returns the step's mean loss. Sharded servers tell no gradient: this one holds range 0 of it only.
   */
  private double applyUpdate(OpenSteps.Step open, long[][] lastPush) {
    boolean readsGradient = epochs.readsGradient(step) && !servers.sharded();
    float lr = !servers.sharded() ? setup.update().apply(net, open.sum(), lastPush, step, readsGradient)
        : setup.update().apply(net, open.sum(), step, servers.own()); // sharded: range 0 only, the followers update theirs
    double loss = EpochBookkeeping.meanLoss(open.assignment().shardLosses(), job.config().batch());
    epochs.stepApplied(step, loss, lr, readsGradient ? setup.update().gradient() : null);
    return loss;
  }

  /** A checkpoint write ended (on the background thread); {@code failed} is null or why it failed: the job fails. */
  synchronized void checkpointWritten(String failed) {
    if (failed != null) {
      fail(failed);
    }
  }

  /** The last background task: every evaluation and checkpoint is done, the job finishes. */
  synchronized void finishAfterBackgroundWork() {
    if (phase.failure() == null) {
      finish();
    }
  }

  /** A background task failed (the metrics could not be written, say): the job stops. */
  private synchronized void backgroundFailed(String why) {
    fail(why);
  }

  private void finish() {
    phase.finish();
    if (policy.backupWorkers() > 0) {
      listener.onEvent("backup copies: " + steps.backupCopies() + " handed out, " + duplicatePushes
          + " duplicate push(es) acknowledged");
    }
    snapshots.clear();
    try {
      epochs.finish(net, step);
    } catch (RuntimeException e) {
      phase.unfinish();
      fail(checkpoints.finalSaveFailed(e));
      return;
    }
    changed();
  }

  // ---- the job's state

  /** Stops the job with a reason; every waiting and later call is told. */
  void fail(String reason) {
    if (phase.fail(reason)) {
      listener.onEvent("job failed: " + reason);
    }
    changed();
  }

  public synchronized boolean isFinished() {
    return phase.finished();
  }

  /** True while the job waits for enough workers (before the start, or below --min-workers). */
  public synchronized boolean waiting() {
    return phase.waitingForWorkers();
  }

  /** Waits until the job finished, failed or must roll back ({@link FollowerCoordination#rollBackReason}); returns the failure or null. */
  public synchronized String awaitEnd() throws InterruptedException {
    while (!phase.over()) {
      wait();
    }
    return phase.failure();
  }

  /** Waits up to {@code millis} for every worker to leave. */
  public synchronized void awaitAllLeft(long millis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    awaitingAllLeft++;
    try {
      while (!membership.allLeft()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return;
        }
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
    } finally {
      awaitingAllLeft--;
    }
  }

  /** The per-step time split measured so far (after warm-up). */
  public synchronized StepTimings.Split timingSplit() {
    return timings.split();
  }

  /** SHA-256 of the current weights (see {@link Network#sha256()}). */
  public synchronized String networkSha256() {
    return net.sha256();
  }

  /** The background thread (for tests: work submitted to it runs before the work of later steps). */
  BackgroundWork background() {
    return background;
  }

  public synchronized long step() {
    return step;
  }
}
