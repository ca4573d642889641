package io.gradflow.ps;

import io.gradflow.common.model.Network;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.reduce.FixedPoint;
import io.gradflow.common.wire.ParameterRange;
import io.gradflow.common.wire.PushCodec;
import io.gradflow.common.wire.PushPrecision;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.TensorChunk;

/**
 * One push in flight: {@link #begin} checks it is one the open step takes, {@link #addChunk}
 * validates and stages its chunks in the worker's own buffers (outside the coordinator's lock),
 * and {@link #commit} adds the staged sum to the step only when the push is complete and valid,
 * so a broken or refused push changes nothing. {@code begin}, {@code commit} and {@code abort}
 * run with the coordinator's lock held.
 */
public final class PushSession {
  /**
   * The model's tensors as a push must fill them: element counts and names, in tensor order, and
   * the range of them this server owns ({@link ParameterRange#whole} unless the job has sharded
   * servers): a push fills elements {@code [range.from[t], range.end[t])} of each tensor t.
   */
  record Tensors(int[] lengths, String[] names, ParameterRange range) {
    static Tensors of(Network net) {
      return of(net, ParameterRange.whole(net.tensorLengths()));
    }

    static Tensors of(Network net, ParameterRange range) {
      String[] names = new String[net.tensorCount()];
      for (int t = 0; t < names.length; t++) {
        names[t] = Network.tensorName(t);
      }
      return new Tensors(net.tensorLengths(), names, range);
    }
  }

  /** What a commit did. */
  enum Commit {
    /** The micro-shards were in already: acknowledged, nothing added. */
    DUPLICATE,
    /** Added to the step's sum; other micro-shards are still missing. */
    ADDED,
    /** Added (or left to the step's update: {@link #deferred}), and it was the step's last missing piece: the step can close. */
    COMPLETED_STEP
  }

  private final Member member;
  private final PushHeader header;
  private final boolean duplicate;
  private final int[] tensorLengths;
  private final String[] tensorNames;
  private final int[] from;
  private final int[] end;
  private final long[] received;
  private final PushCodec.Decoder decoder;
  private long reduceNanos;
  private long[][] deferred;

  private PushSession(Member member, PushHeader header, boolean duplicate, Tensors tensors) {
    this.member = member;
    this.header = header;
    this.duplicate = duplicate;
    this.tensorLengths = tensors.lengths();
    this.tensorNames = tensors.names();
    this.from = tensors.range().from();
    this.end = tensors.range().end();
    this.received = new long[tensorLengths.length];
    for (int t = 0; t < received.length; t++) {
      received[t] = from[t];
    }
    if (member.staging == null) {
      member.staging = new long[tensorLengths.length][];
      for (int t = 0; t < tensorLengths.length; t++) {
        member.staging[t] = new long[tensorLengths[t]];
      }
    }
    this.decoder = isShared(header) ? null : PushCodec.decoder(
        header.getEncoding(), header.getShardEnd() - header.getShardFirst(), tensorLengths, tensorNames);
  }

  private static boolean isShared(PushHeader h) {
    return h.getEncoding() == PushHeader.Encoding.SHARED_FIXED64;
  }

  /** True for a push whose sums wait in the worker's shared-memory push file: {@link #readShared} takes them. */
  boolean inSharedMemory() {
    return decoder == null;
  }

  /**
   * Copies the sums of a {@code SHARED_FIXED64} push out of the worker's push file into its
   * staging, checking every value as a PACKED64 push's (outside the coordinator's lock).
   */
  void readShared() {
    long start = System.nanoTime();
    try {
      member.sharedPush.readInto(member.staging, FixedPoint.FIXED_LIMIT * (header.getShardEnd() - header.getShardFirst()), tensorNames);
    } catch (IllegalArgumentException e) {
      throw invalid(e.getMessage() + " (from " + member + ")");
    } finally {
      reduceNanos += System.nanoTime() - start;
    }
    for (int t = 0; t < received.length; t++) {
      received[t] = end[t];
    }
  }

  /**
   * Begins a push of {@code m}: its header must be well formed ({@link #checkHeader}), and it must
   * push micro-shards of an open step assigned to {@code m} (or micro-shards already in: a
   * duplicate, acknowledged and dropped); one push per worker at a time.
   */
  static PushSession begin(Member m, PushHeader h, boolean started, OpenSteps steps, PushPrecision precision,
      Tensors tensors) {
    checkHeader(h, steps.microShards(), precision, m.sharedMemory);
    OpenSteps.Step open = steps.get(h.getStep());
    boolean duplicate = h.getStep() < steps.applied()
        || (open != null && open.assignment().allCovered(h.getShardFirst(), h.getShardEnd()));
    if (!duplicate) {
      if (!started || open == null) {
        throw JobRefusal.refused("push for step " + h.getStep() + " but the job is at step " + steps.applied()
            + (started ? "" : " and has not started"));
      }
      if (open.assignment().itemOf(m, h.getShardFirst(), h.getShardEnd()) == null) {
        throw JobRefusal.refused(m + " pushed micro-shards [" + h.getShardFirst() + ", " + h.getShardEnd() + ") of step "
            + (h.getStep() + 1) + " but was assigned " + open.assignment().assignedTo(m));
      }
    }
    if (m.pushing) {
      throw JobRefusal.refused(m + " has a push in flight already");
    }
    m.pushing = true;
    return new PushSession(m, h, duplicate, tensors);
  }

  /**
   * Checks what a push header says of itself: a range within the {@code microShards}, one finite
   * loss per micro-shard, an encoding the job's {@code precision} takes.
   */
  static void checkHeader(PushHeader h, int microShards, PushPrecision precision, boolean sharedMemory) {
    if (h.getShardFirst() < 0 || h.getShardEnd() > microShards || h.getShardFirst() >= h.getShardEnd()) {
      throw invalid("micro-shards [" + h.getShardFirst() + ", " + h.getShardEnd() + "): expected a range within [0, " + microShards + ")");
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
    if (isShared(h)) {
      if (!sharedMemory || precision == PushPrecision.BF16) {
        throw invalid("push encoding SHARED_FIXED64: "
            + (sharedMemory ? "this job has push precision bf16 and takes BF16 pushes only" : "this worker is not on the shared-memory data plane"));
      }
      return;
    }
    try {
      PushCodec.checkAccepted(h.getEncoding(), precision, count);
    } catch (IllegalArgumentException e) {
      throw invalid(e.getMessage());
    }
  }

  PushHeader header() {
    return header;
  }

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
    if (decoder == null) {
      throw invalid("a SHARED_FIXED64 push carries no chunks, got one of " + tensorNames[Math.max(0, Math.min(tensorNames.length - 1, c.getTensor()))]);
    }
    int n;
    try {
      n = decoder.decode(c, member.staging);
    } catch (IllegalArgumentException e) {
      throw invalid(e.getMessage() + " (from " + member + ")");
    }
    // the staging is this worker's scratch: a chunk refused here leaves nothing that counts
    int t = c.getTensor();
    if (c.getOffset() != received[t]) {
      throw invalid(tensorNames[t] + " chunk at element " + c.getOffset() + ": expected element " + received[t] + " (chunks of a tensor come in order)");
    }
    checkWithinRange(tensorNames[t], c.getOffset(), n, from[t], end[t]);
    received[t] += n;
  }

  /** Refuses a chunk of elements {@code [offset, offset + n)} of a tensor beyond this server's range of it, {@code [from, end)}. */
  static void checkWithinRange(String tensor, long offset, int n, int from, int end) {
    if (offset + n > end) {
      throw invalid(tensor + " chunk covers elements [" + offset + ", " + (offset + n) + "): this server's range of it is ["
          + from + ", " + end + ")" + (from == end ? ", none of it" : ""));
    }
  }

  /** Refuses a push that ended before every element of every tensor (of this server's range) arrived. */
  private void checkComplete() {
    checkComplete(received, from, end, tensorNames);
  }

  /** As {@link #checkComplete()} for chunks received up to {@code received[t]} of elements {@code [from[t], end[t])}. */
  static void checkComplete(long[] received, int[] from, int[] end, String[] tensorNames) {
    for (int t = 0; t < received.length; t++) {
      if (received[t] != end[t]) {
        throw invalid("push ended with " + (received[t] - from[t]) + " of " + (end[t] - from[t]) + " elements of " + tensorNames[t]
            + (from[t] == 0 ? "" : " (elements from " + from[t] + " on)"));
      }
    }
  }

  /** Drops the push (broken stream or refused chunk): nothing of it was added. */
  void abort() {
    member.pushing = false;
  }

  /**
   * Ends the push: when it is complete, adds the staged sum to the sum of its open step, marks its
   * micro-shards in, and times it. An incomplete push is refused, a worker lost meanwhile is asked
   * to join again, one whose micro-shards went to others is refused. {@link Commit#COMPLETED_STEP}:
   * the push's step is complete (it closes once the steps before it have).
   *
   * <p>Without a pass over the values where none is needed: the first push into a step's sum (zero
   * until then) of whole tensors trades its staging for the sum's arrays; and with {@code
   * mayDefer} (the caller closes the step at once) the push that completes the earliest open step
   * is not added but left in {@link #deferred} for the update's pass.
   */
  Commit commit(OpenSteps steps, StepTimings timings, boolean mayDefer) {
    member.pushing = false;
    checkComplete();
    OpenSteps.Step open = steps.get(header.getStep());
    if (duplicate || open == null || open.assignment().allCovered(header.getShardFirst(), header.getShardEnd())) {
      return Commit.DUPLICATE; // not open at begin means closed now (begin refused later steps)
    }
    if (member.left) {
      throw JobRefusal.rejoin(member + " was declared lost; its push is dropped; join again");
    }
    MicroShardAssignment assignment = open.assignment();
    WorkItem item = assignment.itemOf(member, header.getShardFirst(), header.getShardEnd());
    if (item == null) {
      throw JobRefusal.refused(member + " is no longer assigned micro-shards [" + header.getShardFirst() + ", " + header.getShardEnd() + ")");
    }
    long addStart = System.nanoTime();
    boolean whole = coversWholeTensors();
    boolean firstIn = assignment.noneIn();
    boolean complete = assignment.markDone(item, header.getShardLossList()); // nothing below throws
    if (whole && firstIn) {
      for (int t = 0; t < received.length; t++) {
        member.staging[t] = open.sum().exchange(t, member.staging[t]); // the zero (or spent) sum becomes the staging
      }
    } else if (mayDefer && whole && complete && open == steps.first()) {
      deferred = member.staging; // the step's update adds it in its own pass (StepCoordinator.closeStep)
    } else {
      addTo(open.sum());
    }
    timings.addPush(header.getStep(), header, reduceNanos + System.nanoTime() - addStart);
    member.seen(System.nanoTime());
    return complete ? Commit.COMPLETED_STEP : Commit.ADDED;
  }

  /**
   * The staged values of a push that completed the earliest open step and were not added to its
   * sum ({@link #commit} with {@code mayDefer}): the step's update must add them (null: nothing
   * deferred). Valid until the worker's next push.
   */
  long[][] deferred() {
    return deferred;
  }

  /** Adds the staged values of this push into {@code sum}. */
  void addTo(ExactGradientSum sum) {
    for (int t = 0; t < received.length; t++) {
      if (from[t] == 0) {
        sum.addFixed(t, 0, member.staging[t], end[t]);
      } else {
        addStaged(sum.tensor(t), member.staging[t], from[t], end[t]);
      }
    }
  }

  /** True when this server's range is every element of every tensor (one server, or a sharded server with whole tensors only). */
  private boolean coversWholeTensors() {
    for (int t = 0; t < received.length; t++) {
      if (from[t] != 0 || end[t] != tensorLengths[t]) {
        return false;
      }
    }
    return true;
  }

  /** {@code sum[i] += staged[i]} for i in {@code [from, end)}. */
  static void addStaged(long[] sum, long[] staged, int from, int end) {
    for (int i = from; i < end; i++) {
      sum[i] += staged[i];
    }
  }

  private static JobRefusal invalid(String message) {
    return JobRefusal.badRequest(message);
  }
}
