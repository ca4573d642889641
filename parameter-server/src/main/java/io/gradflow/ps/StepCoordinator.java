package io.gradflow.ps;

import io.gradflow.common.data.SamplingPlan;
import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.model.Checkpoint;
import io.gradflow.common.model.ModelSpecs;
import io.gradflow.common.model.Network;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.train.Evaluator;
import io.gradflow.common.train.JobInfo;
import io.gradflow.common.train.SynchronousUpdate;
import io.gradflow.common.train.TrainingListener;
import io.gradflow.common.optim.SgdOptimizer;
import io.gradflow.common.wire.Bf16Chunks;
import io.gradflow.common.wire.JobFingerprint;
import io.gradflow.common.wire.PushPrecision;
import io.gradflow.common.wire.Rejoin;
import io.gradflow.common.wire.TensorChunks;
import io.gradflow.proto.JoinRequest;
import io.gradflow.proto.JoinResponse;
import io.gradflow.proto.PullRequest;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.PushResponse;
import io.gradflow.proto.TensorChunk;
import io.gradflow.proto.TrainConfig;
import io.gradflow.proto.WeightsHeader;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The synchronous training loop as seen from the server, without gRPC plumbing: admission,
 * assignment of micro-shards, validation and exact reduction of pushes, one optimizer update per
 * step, and the weights of each new version.
 *
 * <p>Step {@code s} is open when the weights of version {@code s} exist. Every micro-shard
 * {@code 0..M-1} of the step must be pushed exactly once; the fixed-point sums are added in
 * whatever order they arrive (the sum is exact, so the order cannot matter), and when the last
 * micro-shard is in, the optimizer is applied once and step {@code s+1} opens.
 *
 * <p>A push is staged per worker and added to the step's sum only when it is complete and valid,
 * so a broken or refused push changes nothing. All state is guarded by this object's monitor.
 */
public final class StepCoordinator {
  /** The answer to a pull: what to do next and, when ready, the weights to do it with. */
  public record Pull(WeightsHeader.State state, long step, int first, int end, List<TensorChunk> weights) {}

  private final Network net;
  private final io.gradflow.proto.ModelSpec specProto;
  private final TrainConfig configProto;
  private final String fingerprint;
  private final String dataDigest;
  private final int trainCount;
  private final ServerJob job;
  private final SamplingPlan plan;
  private final SynchronousUpdate update;
  private final Evaluator evaluator;
  private final long totalSteps;
  private final TrainingListener listener;
  private final int[] tensorLengths;
  private final String[] tensorNames;

  private final ServerPolicy policy;
  private final Map<String, Member> members = new LinkedHashMap<>();
  private int nextRank;
  private boolean started;
  private boolean paused;
  private boolean finished;
  private String failure;
  private long step;
  private final boolean[] covered;
  private int coveredCount;
  private final double[] shardLoss;
  private final List<WorkItem> items = new ArrayList<>();
  private List<TensorChunk> snapshot = List.of();
  private final List<Waiter> waiters = new ArrayList<>();
  private double epochLossSum;
  private int epochSteps;
  private double lastEpochLoss = Double.NaN;
  private Evaluator.Result lastTest;
  private final StepTimings timings;
  private long backupCopies;
  private long duplicatePushes;

  public StepCoordinator(ServerJob job, TrainingListener listener) {
    this(job, ServerPolicy.defaults(), listener);
  }

  public StepCoordinator(ServerJob job, ServerPolicy policy, TrainingListener listener) {
    this.job = job;
    this.policy = policy;
    this.net = job.network();
    this.listener = listener;
    this.specProto = ModelSpecs.toProto(net.spec());
    this.configProto = job.config().toProto();
    this.fingerprint = JobFingerprint.of(specProto, configProto);
    this.dataDigest = job.data().train().sha256();
    this.trainCount = job.data().train().count();
    this.plan =
        new SamplingPlan(trainCount, job.config().batch(), job.config().microShards(), job.config().seed());
    this.totalSteps = job.config().totalSteps(trainCount);
    this.update =
        new SynchronousUpdate(
            net,
            new SgdOptimizer(
                net,
                job.config().scheduleFor(totalSteps, plan.stepsPerEpoch()),
                job.config().momentum(),
                job.config().weightDecay()));
    this.evaluator = new Evaluator(net, Kernels.byName(job.config().kernels()));
    this.timings = new StepTimings(Math.min(20, totalSteps / 5));
    this.covered = new boolean[job.config().microShards()];
    this.shardLoss = new double[job.config().microShards()];
    this.tensorLengths = new int[net.tensorCount()];
    this.tensorNames = new String[net.tensorCount()];
    for (int t = 0; t < tensorLengths.length; t++) {
      tensorLengths[t] = net.tensor(t).length;
      tensorNames[t] = Network.tensorName(t);
    }
    Checkpoint resume = job.resumeFrom();
    if (resume != null) {
      if (!resume.fingerprint().equals(fingerprint)) {
        throw new IllegalArgumentException(
            "checkpoint of another job: its fingerprint " + resume.fingerprint() + " differs from " + fingerprint);
      }
      update.optimizer().restore(resume.velocity(), resume.optimizerStarted());
      step = resume.step();
      epochLossSum = resume.epochLossSum();
      epochSteps = resume.epochSteps();
    }
  }

  public String fingerprint() {
    return fingerprint;
  }

  /** Number of tensors in the model (two per layer). */
  public int tensorCount() {
    return tensorLengths.length;
  }

  public long totalSteps() {
    return totalSteps;
  }

  /** Admits a worker whose fingerprint matches (or who brings none) before the job starts. */
  public synchronized JoinResponse join(JoinRequest request) {
    if (!request.getFingerprint().isEmpty() && !request.getFingerprint().equals(fingerprint)) {
      List<String> diffs =
          JobFingerprint.differences(specProto, configProto, request.getSpec(), request.getConfig());
      String what = diffs.isEmpty() ? "fingerprint " + request.getFingerprint() + " vs " + fingerprint : String.join("; ", diffs);
      listener.onEvent("refused " + request.getWorkerName() + ": job differs: " + what);
      throw Status.FAILED_PRECONDITION
          .withDescription("this worker's job differs from the server's: " + what)
          .asRuntimeException();
    }
    if (finished) {
      throw Status.FAILED_PRECONDITION.withDescription("the job is over").asRuntimeException();
    }
    if (failure != null) {
      throw Status.FAILED_PRECONDITION.withDescription("the job stopped: " + failure).asRuntimeException();
    }
    int live = liveCount();
    if (live >= covered.length) {
      throw Status.RESOURCE_EXHAUSTED
          .withDescription("the job already has " + live + " workers, one per micro-shard (--micro-shards " + covered.length + ")")
          .asRuntimeException();
    }
    Member m = new Member(UUID.randomUUID().toString(), nextRank++, request.getWorkerName());
    members.put(m.id, m);
    listener.onEvent("joined: " + m + ", " + (live + 1) + (started ? " live" : "/" + job.workers())
        + (started ? "; it computes from step " + (step + 2) + " on" : ""));
    return JoinResponse.newBuilder()
        .setWorkerId(m.id)
        .setRank(m.rank)
        .setSpec(specProto)
        .setConfig(configProto)
        .setFingerprint(fingerprint)
        .setNextStep(step)
        .build();
  }

  /** Marks a worker ready once its training set matches the server's; starts the job when all are. */
  public synchronized void ready(String workerId, String digest, long count) {
    Member m = member(workerId);
    if (!dataDigest.equals(digest)) {
      throw Status.FAILED_PRECONDITION
          .withDescription(
              "training data differs: " + m + " has " + count + " rows (sha256 " + shortHash(digest)
                  + "), the server has " + trainCount + " rows (sha256 " + shortHash(dataDigest) + ")")
          .asRuntimeException();
    }
    m.ready = true;
    m.lastSeenNanos = System.nanoTime();
    if (!started && readyCount() >= job.workers()) {
      start();
    } else if (started) {
      resumeIfEnoughWorkers();
    }
  }

  private int liveCount() {
    int n = 0;
    for (Member m : members.values()) {
      if (!m.left) {
        n++;
      }
    }
    return n;
  }

  private int readyCount() {
    int n = 0;
    for (Member m : members.values()) {
      if (!m.left && m.ready) {
        n++;
      }
    }
    return n;
  }

  private List<Member> readyMembers() {
    List<Member> active = new ArrayList<>();
    for (Member m : members.values()) {
      if (m.ready && !m.left) {
        active.add(m);
      }
    }
    return active;
  }

  private void start() {
    started = true;
    if (step > 0) {
      listener.onEvent("resuming at step " + (step + 1) + " from a checkpoint");
    }
    listener.onStart(
        new JobInfo(
            net.spec(), job.config(), job.workers(), totalSteps, plan.stepsPerEpoch(), trainCount,
            job.data().test().count(), step));
    if (step >= totalSteps) {
      finish();
      return;
    }
    openStep();
  }

  /** Receives the answer to a pull, once there is one (called with the coordinator's lock held). */
  public interface PullAnswer {
    void answer(Pull pull);

    void fail(io.grpc.StatusRuntimeException e);
  }

  /** A pull that waits for its step: no thread waits with it, the step's opening answers it. */
  private record Waiter(Member member, PullRequest request, long deadlineNanos, PullAnswer answer) {}

  /**
   * Answers a pull for a step {@code >= minStep}: at once when the worker has work (or the job is
   * over), otherwise when a step with work for it opens, or with NOT_YET after {@code timeoutMillis}
   * (see {@link #answerOverduePulls()}). No thread is held while it waits, so the gRPC handler may
   * run on the transport's thread, and the weights of a new step go out the moment it opens.
   */
  public synchronized void pull(PullRequest request, long timeoutMillis, PullAnswer answer) {
    Member m = member(request.getWorkerId());
    m.lastSeenNanos = System.nanoTime();
    Pull now = answerFor(m, request);
    if (now != null) {
      answer.answer(now);
      return;
    }
    waiters.add(new Waiter(m, request, m.lastSeenNanos + TimeUnit.MILLISECONDS.toNanos(timeoutMillis), answer));
  }

  /** Forgets a waiting pull (its call was cancelled). */
  public synchronized void cancelPull(PullAnswer answer) {
    waiters.removeIf(w -> w.answer() == answer);
  }

  /** Answers NOT_YET to every pull that waited past its timeout; the server calls it a few times per second. */
  public synchronized void answerOverduePulls() {
    long now = System.nanoTime();
    for (Waiter w : new ArrayList<>(waiters)) {
      if (now - w.deadlineNanos() >= 0) {
        waiters.remove(w);
        w.member().lastSeenNanos = now;
        w.answer().answer(new Pull(WeightsHeader.State.NOT_YET, step, 0, 0, List.of()));
      }
    }
  }

  /** The server stops: every waiting pull fails with UNAVAILABLE (its worker retries elsewhen). */
  public synchronized void failWaitingPulls() {
    List<Waiter> all = new ArrayList<>(waiters);
    waiters.clear();
    for (Waiter w : all) {
      w.answer().fail(Status.UNAVAILABLE.withDescription("server shutting down").asRuntimeException());
    }
  }

  /** What pull {@code request} of {@code m} gets now, or null when it must wait. */
  private Pull answerFor(Member m, PullRequest request) {
    if (failure != null) {
      throw Status.ABORTED.withDescription("the job stopped: " + failure).asRuntimeException();
    }
    if (finished) {
      return new Pull(WeightsHeader.State.DONE, step, 0, 0, List.of());
    }
    if (m.left) {
      throw Rejoin.asked(m + " was declared lost; join again");
    }
    if (started && !paused) {
      WorkItem item = workFor(m, request.getStep() == step + 1 ? request.getPushedFirst() : 0,
          request.getStep() == step + 1 ? request.getPushedEnd() : 0);
      if (item != null) {
        return new Pull(WeightsHeader.State.READY, step, item.first, item.end, snapshot);
      }
    }
    return null;
  }

  /** Something changed (a step opened, a worker left, the job ended): wake the waiting threads and answer the waiting pulls that can be. */
  private void changed() {
    notifyAll();
    if (waiters.isEmpty()) {
      return;
    }
    long now = System.nanoTime();
    for (Waiter w : new ArrayList<>(waiters)) {
      Pull p;
      try {
        p = answerFor(w.member(), w.request());
      } catch (io.grpc.StatusRuntimeException e) {
        waiters.remove(w);
        w.answer().fail(e);
        continue;
      }
      if (p != null) {
        waiters.remove(w);
        w.member().lastSeenNanos = now;
        w.answer().answer(p);
      }
    }
  }

  /**
   * The unfinished item of the open step this worker should compute: one assigned to it, or, with
   * backup workers, a copy of the unfinished item with the fewest copies. Micro-shards
   * {@code [pushedFirst, pushedEnd)} are on their way from this worker: not them.
   */
  private WorkItem workFor(Member m, int pushedFirst, int pushedEnd) {
    for (WorkItem item : items) {
      boolean inFlight = item.first == pushedFirst && item.end == pushedEnd;
      if (!item.done && item.assignees.contains(m.id) && !m.pushedItems.contains(item) && !inFlight) {
        return item;
      }
    }
    if (policy.backupWorkers() > 0) {
      WorkItem best = null;
      for (WorkItem item : items) {
        if (!item.done && !item.assignees.contains(m.id) && item.assignees.size() <= policy.backupWorkers()
            && (best == null || item.assignees.size() < best.assignees.size())) {
          best = item;
        }
      }
      if (best != null) {
        best.assignees.add(m.id);
        backupCopies++;
        return best;
      }
    }
    return null;
  }

  /** A heartbeat: the worker is alive. */
  public synchronized long heartbeat(String workerId) {
    Member m = member(workerId);
    m.lastSeenNanos = System.nanoTime();
    return step;
  }

  /**
   * Declares lost every live worker silent for longer than the policy's timeout; returns how many.
   * The server calls it a few times per second.
   */
  public synchronized int expireSilentWorkers() {
    long now = System.nanoTime();
    long limit = TimeUnit.MILLISECONDS.toNanos(policy.workerTimeoutMillis());
    int lost = 0;
    for (Member m : new ArrayList<>(members.values())) {
      if (!m.left && now - m.lastSeenNanos > limit) {
        lose(m, String.format(java.util.Locale.ROOT, "no heartbeat for %.1f s", (now - m.lastSeenNanos) / 1e9));
        lost++;
      }
    }
    return lost;
  }

  /** A worker is gone: its unfinished micro-shards go to the survivors, now. */
  private void lose(Member m, String why) {
    m.left = true;
    if (!started || finished) {
      listener.onEvent("left: " + m + (why.isEmpty() ? "" : " (" + why + ")"));
      changed();
      return;
    }
    List<WorkItem> orphans = new ArrayList<>();
    for (WorkItem item : items) {
      item.assignees.remove(m.id);
      if (!item.done && item.assignees.isEmpty()) {
        orphans.add(item);
      }
    }
    int live = readyCount();
    listener.onEvent("lost: " + m + (why.isEmpty() ? "" : " (" + why + ")") + "; " + live + " live worker(s)"
        + (orphans.isEmpty() ? "" : "; its micro-shards " + orphans + " of step " + (step + 1) + " go to the others"));
    reassign(orphans);
    resumeIfEnoughWorkers();
    changed();
  }

  /** Splits the micro-shards of orphaned items among the ready workers, contiguously and in rank order. */
  private void reassign(List<WorkItem> orphans) {
    List<Member> active = readyMembers();
    if (orphans.isEmpty() || active.isEmpty()) {
      return;
    }
    items.removeAll(orphans);
    List<Integer> shards = new ArrayList<>();
    for (WorkItem item : orphans) {
      for (int i = item.first; i < item.end; i++) {
        shards.add(i);
      }
    }
    // Contiguous runs of orphaned shards, each cut among the survivors.
    int runStart = 0;
    for (int k = 1; k <= shards.size(); k++) {
      if (k == shards.size() || shards.get(k) != shards.get(k - 1) + 1) {
        int first = shards.get(runStart);
        int count = k - runStart;
        int parts = Math.min(count, active.size());
        for (int p = 0; p < parts; p++) {
          int a = first + (int) ((long) p * count / parts);
          int b = first + (int) ((long) (p + 1) * count / parts);
          items.add(new WorkItem(a, b, active.get(p).id));
        }
        runStart = k;
      }
    }
  }

  /** Pauses below --min-workers; when enough are back, hands out what nobody computes. */
  private void resumeIfEnoughWorkers() {
    int live = readyCount();
    if (live < policy.minWorkers()) {
      if (!paused) {
        paused = true;
        listener.onEvent("waiting: " + live + " live worker(s), --min-workers " + policy.minWorkers() + "; the job pauses until more join");
      }
      return;
    }
    List<WorkItem> orphans = new ArrayList<>();
    for (WorkItem item : items) {
      if (!item.done && item.assignees.isEmpty()) {
        orphans.add(item);
      }
    }
    reassign(orphans);
    if (paused) {
      paused = false;
      listener.onEvent("resuming: " + live + " live worker(s)");
    }
    changed();
  }

  /** Validates a push's header and returns the session that receives its chunks. */
  public synchronized PushSession beginPush(PushHeader h) {
    Member m = member(h.getWorkerId());
    int shards = covered.length;
    if (h.getShardFirst() < 0 || h.getShardEnd() > shards || h.getShardFirst() >= h.getShardEnd()) {
      throw invalid("micro-shards [" + h.getShardFirst() + ", " + h.getShardEnd() + "): expected a range within [0, " + shards + ")");
    }
    int count = h.getShardEnd() - h.getShardFirst();
    if (h.getShardLossCount() != count) {
      throw invalid(count + " micro-shards pushed with " + h.getShardLossCount() + " loss values: expected one per micro-shard");
    }
    for (int i = 0; i < count; i++) {
      if (!Double.isFinite(h.getShardLoss(i))) {
        throw invalid("loss of micro-shard " + (h.getShardFirst() + i) + " is " + h.getShardLoss(i) + ": expected a finite value");
      }
    }
    if (h.getEncoding() == PushHeader.Encoding.FLOAT32 && count != 1) {
      throw invalid("FLOAT32 pushes carry exactly one micro-shard, got " + count + ": use FIXED64 for sums");
    }
    checkEncoding(h.getEncoding());
    boolean duplicate = h.getStep() < step || (h.getStep() == step && allCovered(h.getShardFirst(), h.getShardEnd()));
    if (!duplicate) {
      if (!started || h.getStep() > step) {
        throw Status.FAILED_PRECONDITION
            .withDescription("push for step " + h.getStep() + " but the job is at step " + step + (started ? "" : " and has not started"))
            .asRuntimeException();
      }
      WorkItem item = itemOf(m, h.getShardFirst(), h.getShardEnd());
      if (item == null) {
        throw Status.FAILED_PRECONDITION
            .withDescription(
                m + " pushed micro-shards [" + h.getShardFirst() + ", " + h.getShardEnd() + ") of step " + (step + 1)
                    + " but was assigned " + assignedTo(m))
            .asRuntimeException();
      }
    }
    if (m.pushing) {
      throw Status.FAILED_PRECONDITION
          .withDescription(m + " has a push in flight already")
          .asRuntimeException();
    }
    m.pushing = true;
    if (m.staging == null) {
      m.staging = new long[tensorLengths.length][];
      for (int t = 0; t < tensorLengths.length; t++) {
        m.staging[t] = new long[tensorLengths[t]];
      }
    }
    m.lastSeenNanos = System.nanoTime();
    return new PushSession(m, h, duplicate);
  }

  /** The job's push precision decides the encodings it accepts: a worker cannot push another format. */
  private void checkEncoding(PushHeader.Encoding e) {
    if (job.config().pushPrecision() == PushPrecision.BF16) {
      if (e != PushHeader.Encoding.BF16) {
        throw invalid("push encoding " + e + ": this job has push precision bf16 and takes BF16 pushes only");
      }
    } else if (e != PushHeader.Encoding.FLOAT32 && e != PushHeader.Encoding.FIXED64 && e != PushHeader.Encoding.PACKED64) {
      throw invalid("push encoding " + e + ": expected FIXED64, PACKED64 or FLOAT32"
          + (e == PushHeader.Encoding.BF16 ? " (this job has push precision fp32)" : ""));
    }
  }

  private WorkItem itemOf(Member m, int first, int end) {
    for (WorkItem item : items) {
      if (item.first == first && item.end == end && item.assignees.contains(m.id)) {
        return item;
      }
    }
    return null;
  }

  private String assignedTo(Member m) {
    List<String> ranges = new ArrayList<>();
    for (WorkItem item : items) {
      if (item.assignees.contains(m.id)) {
        ranges.add(item.toString());
      }
    }
    return ranges.isEmpty() ? "no micro-shards" : String.join(", ", ranges);
  }

  private boolean allCovered(int first, int end) {
    for (int i = first; i < end; i++) {
      if (!covered[i]) {
        return false;
      }
    }
    return true;
  }

  /** One push in flight: chunks are validated and staged; {@link #commit()} adds them. */
  public final class PushSession {
    private final Member member;
    private final PushHeader header;
    private final boolean duplicate;
    private final long[] received = new long[tensorLengths.length];
    private final float[] floatScratch;

    PushSession(Member member, PushHeader header, boolean duplicate) {
      this.member = member;
      this.header = header;
      this.duplicate = duplicate;
      if (header.getEncoding() == PushHeader.Encoding.FLOAT32 && member.floatScratch == null) {
        member.floatScratch = new float[TensorChunks.MAX_CHUNK_BYTES / Float.BYTES];
      }
      this.floatScratch = member.floatScratch;
    }

    private long reduceNanos;

    /** Validates one chunk and stages it (outside the coordinator's lock: staging is per worker). */
    public void addChunk(TensorChunk c) {
      long start = System.nanoTime();
      try {
        stage(c);
      } finally {
        reduceNanos += System.nanoTime() - start;
      }
    }

    private void stage(TensorChunk c) {
      PushHeader.Encoding encoding = header.getEncoding();
      boolean floats = encoding == PushHeader.Encoding.FLOAT32;
      boolean bf16 = encoding == PushHeader.Encoding.BF16;
      int n;
      try {
        n = encoding == PushHeader.Encoding.PACKED64
            ? TensorChunks.checkPackedFits(c, tensorLengths, tensorNames)
            : TensorChunks.checkFits(c, tensorLengths, floats ? Float.BYTES : bf16 ? Short.BYTES : Long.BYTES, tensorNames);
      } catch (IllegalArgumentException e) {
        throw invalid(e.getMessage());
      }
      int t = c.getTensor();
      if (c.getOffset() != received[t]) {
        throw invalid(tensorNames[t] + " chunk at element " + c.getOffset() + ": expected element " + received[t] + " (chunks of a tensor come in order)");
      }
      long[] stage = member.staging[t];
      int offset = (int) c.getOffset();
      if (floats) {
        TensorChunks.readFloatsAtZero(c, floatScratch);
        for (int i = 0; i < n; i++) {
          float v = floatScratch[i];
          if (!(Math.abs(v) < ExactGradientSum.LIMIT)) {
            throw invalid("gradient " + tensorNames[t] + "[" + (offset + i) + "] = " + v + " from " + member + ": expected a finite value below " + (long) ExactGradientSum.LIMIT);
          }
          stage[offset + i] = ExactGradientSum.roundToFixed(v); // checked just above
        }
      } else if (bf16) {
        // a sum of several micro-shards: each below LIMIT, so the sum below LIMIT times their count
        double limit = ExactGradientSum.LIMIT * (header.getShardEnd() - header.getShardFirst());
        try {
          Bf16Chunks.readFixed(c, stage, offset, limit, tensorNames[t]);
        } catch (IllegalArgumentException e) {
          throw invalid(e.getMessage() + " (from " + member + ")");
        }
      } else {
        if (encoding == PushHeader.Encoding.PACKED64) {
          TensorChunks.readPackedLongs(c, stage, offset);
        } else {
          java.nio.LongBuffer src = c.getData().asReadOnlyByteBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN).asLongBuffer();
          src.get(stage, offset, n);
        }
        long limit = ExactGradientSum.FIXED_LIMIT * (header.getShardEnd() - header.getShardFirst());
        for (int i = offset; i < offset + n; i++) {
          if (Math.abs(stage[i]) > limit) {
            throw invalid("gradient " + tensorNames[t] + "[" + i + "] from " + member + " is out of the fixed-point range");
          }
        }
      }
      received[t] += n;
    }

    /** Drops the push (broken stream or refused chunk): nothing of it was added. */
    public void abort() {
      synchronized (StepCoordinator.this) {
        member.pushing = false;
      }
    }

    /** Adds the staged push to the step's sum; closes the step when it was the last one. */
    public PushResponse commit() {
      for (int t = 0; t < received.length; t++) {
        if (received[t] != tensorLengths[t]) {
          abort();
          throw invalid("push ended with " + received[t] + " of " + tensorLengths[t] + " elements of " + tensorNames[t]);
        }
      }
      synchronized (StepCoordinator.this) {
        member.pushing = false;
        if (duplicate || header.getStep() < step || allCovered(header.getShardFirst(), header.getShardEnd())) {
          duplicatePushes++;
          return PushResponse.newBuilder().setStep(header.getStep()).setDuplicate(true).build();
        }
        if (member.left) {
          throw Rejoin.asked(member + " was declared lost; its push is dropped; join again");
        }
        WorkItem item = itemOf(member, header.getShardFirst(), header.getShardEnd());
        if (item == null) {
          throw Status.FAILED_PRECONDITION
              .withDescription(member + " is no longer assigned micro-shards [" + header.getShardFirst() + ", " + header.getShardEnd() + ")")
              .asRuntimeException();
        }
        item.done = true;
        member.pushedItems.add(item);
        long addStart = System.nanoTime();
        ExactGradientSum sum = update.sum();
        for (int t = 0; t < received.length; t++) {
          sum.addFixed(t, 0, member.staging[t], tensorLengths[t]);
        }
        timings.addPush(step, header, reduceNanos + System.nanoTime() - addStart);
        for (int i = header.getShardFirst(); i < header.getShardEnd(); i++) {
          covered[i] = true;
          shardLoss[i] = header.getShardLoss(i - header.getShardFirst());
          coveredCount++;
        }
        member.lastSeenNanos = System.nanoTime();
        if (coveredCount == covered.length) {
          closeStep();
        }
        return PushResponse.newBuilder().setStep(header.getStep()).build();
      }
    }
  }

  /** All micro-shards are in: one optimizer update, bookkeeping, and the next step opens. */
  private void closeStep() {
    long start = System.nanoTime();
    float lr = update.apply(net, step);
    double lossSum = 0;
    for (double l : shardLoss) {
      lossSum += l; // in micro-shard order, so the reported loss is deterministic too
    }
    double loss = lossSum / job.config().batch();
    int epoch = plan.epochOf(step);
    listener.onStep(step, epoch, loss, lr, update.gradient());
    epochLossSum += loss;
    epochSteps++;
    if (!net.isFinite()) {
      fail("the weights became non-finite at step " + (step + 1) + " (loss " + loss + "): lower --lr");
      return;
    }
    step++;
    boolean epochEvaluated = step % plan.stepsPerEpoch() == 0 || step == totalSteps;
    if (epochEvaluated) {
      lastTest = evaluator.evaluate(net, job.data().test());
      lastEpochLoss = epochLossSum / epochSteps;
      listener.onEpoch(epoch, step - 1, lastTest, lastEpochLoss);
      epochLossSum = 0;
      epochSteps = 0;
    }
    if (policy.checkpoints() != null
        && (step >= totalSteps || (policy.checkpointEvery() > 0 && step % policy.checkpointEvery() == 0))) {
      writeCheckpoint();
    }
    if (step >= totalSteps) {
      finish();
    } else {
      openStep();
    }
    timings.addUpdate(step - 1, System.nanoTime() - start - (long) (epochEvaluated ? lastTest.seconds() * 1e9 : 0));
    changed();
  }

  /** The per-step time split measured so far (after warm-up). */
  public synchronized StepTimings.Split timingSplit() {
    return timings.split();
  }

  /** Writes a checkpoint of the state after {@code step} applied steps. */
  private void writeCheckpoint() {
    float[][] velocity = new float[net.tensorCount()][];
    for (int t = 0; t < velocity.length; t++) {
      velocity[t] = update.optimizer().velocity(t);
    }
    Checkpoint c = new Checkpoint(net, velocity, update.optimizer().started(), step, job.config(), fingerprint,
        epochLossSum, epochSteps);
    try {
      policy.checkpoints().save(c);
    } catch (RuntimeException e) {
      listener.onEvent("WARNING: checkpoint at step " + step + " failed: " + e.getMessage());
    }
  }

  private void openStep() {
    Arrays.fill(covered, false);
    coveredCount = 0;
    items.clear();
    for (Member m : members.values()) {
      m.pushedItems.clear();
    }
    List<Member> active = readyMembers();
    int n = active.size();
    for (int i = 0; i < n; i++) {
      Member m = active.get(i);
      items.add(new WorkItem(plan.firstShard(i, n), plan.firstShard(i + 1, n), m.id));
    }
    paused = false;
    if (n < policy.minWorkers()) {
      resumeIfEnoughWorkers();
    }
    List<TensorChunk> chunks = new ArrayList<>();
    for (int t = 0; t < net.tensorCount(); t++) {
      chunks.addAll(TensorChunks.ofFloats(t, net.tensor(t)));
    }
    snapshot = List.copyOf(chunks);
    changed();
  }

  private void finish() {
    if (lastTest == null) {
      lastTest = evaluator.evaluate(net, job.data().test());
    }
    finished = true;
    snapshot = List.of();
    if (policy.backupWorkers() > 0) {
      listener.onEvent("backup copies: " + backupCopies + " handed out, " + duplicatePushes + " duplicate push(es) acknowledged");
    }
    listener.onFinish(net, step, lastTest, lastEpochLoss);
    changed();
  }

  /** Stops the job with a reason; every waiting and later call is told. */
  public synchronized void fail(String reason) {
    if (failure == null && !finished) {
      failure = reason;
      listener.onEvent("job failed: " + reason);
    }
    changed();
  }

  /**
   * A worker leaves. During a running job its micro-shards go to the others; a fatal leave (the
   * worker found something no other worker can fix, like a non-finite gradient) stops the job.
   */
  public synchronized void leave(String workerId, String reason, boolean fatal) {
    Member m = members.get(workerId);
    if (m == null || m.left) {
      return;
    }
    if (fatal && started && !finished) {
      m.left = true;
      fail(m + ": " + reason);
      return;
    }
    lose(m, reason.isEmpty() ? (finished ? "" : "left") : reason);
  }

  public synchronized boolean isFinished() {
    return finished;
  }

  /** The reason the job failed, or null. */
  public synchronized String failure() {
    return failure;
  }

  /** True when the job ended (finished or failed) and every worker has left. */
  public synchronized boolean allLeft() {
    return members.values().stream().allMatch(m -> m.left);
  }

  /** True while the job waits for enough workers (before the start, or below --min-workers). */
  public synchronized boolean waiting() {
    return !started || paused;
  }

  /** Waits until the job finished or failed; returns the failure or null. */
  public synchronized String awaitEnd() throws InterruptedException {
    while (!finished && failure == null) {
      wait();
    }
    return failure;
  }

  /** Waits up to {@code millis} for every worker to leave. */
  public synchronized void awaitAllLeft(long millis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    while (!allLeft()) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return;
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
  }

  /** SHA-256 of the current weights (see {@link Network#sha256()}). */
  public synchronized String networkSha256() {
    return net.sha256();
  }

  public synchronized long step() {
    return step;
  }

  private Member member(String workerId) {
    Member m = members.get(workerId);
    if (m == null) {
      throw Rejoin.asked("unknown worker id '" + workerId + "' (the server may have restarted): join again");
    }
    if (m.left) {
      throw Rejoin.asked(m + " is no longer part of the job: join again");
    }
    return m;
  }

  private static io.grpc.StatusRuntimeException invalid(String message) {
    return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
  }

  private static String shortHash(String hex) {
    return hex.length() > 12 ? hex.substring(0, 12) : hex;
  }
}
