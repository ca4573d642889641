package io.gradflow.ps;

import io.gradflow.proto.PushHeader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where a step's time goes, averaged over the steps after a warm-up: the workers' compute, push,
 * wait for the next weights (the slowest worker, the server's reduce and update, the latency) and
 * the transfer of those weights, as they report them with their pushes; and the server's own
 * reduce (decode, check, stage and add every push) and update (optimizer, next weights, and the
 * copies handed to the background thread; not the test evaluation or checkpoint writes, which run
 * there while the next step goes on).
 */
public final class StepTimings {
  /**
   * Mean milliseconds per step; worker figures are means over the pushes of a step, and per worker
   * in {@code workers} (by worker id).
   */
  public record Split(long steps, double computeMillis, double pushMillis, double waitMillis,
      double weightsBackMillis, double serverReduceMillis, double serverUpdateMillis, double measuredSeconds,
      List<WorkerSplit> workers) {}

  /** One worker's mean milliseconds per push (after the warm-up). */
  public record WorkerSplit(String workerId, long pushes, double computeMillis, double pushMillis, double waitMillis,
      double weightsBackMillis) {}

  /** The sums behind one worker's split. */
  private static final class WorkerSums {
    long pushes;
    long compute;
    long previousPushes;
    long push;
    long wait;
    long transfer;
  }

  private final Map<String, WorkerSums> perWorker = new TreeMap<>();

  private final long warmupSteps;
  private long pushes;
  private long compute;
  private long push;
  private long previousPushes;
  private long wait;
  private long transfer;
  private long reduce;
  private long updates;
  private long update;
  private long windowStartNanos;
  private long windowEndNanos;

  StepTimings(long warmupSteps) {
    this.warmupSteps = warmupSteps;
  }

  void addPush(long step, PushHeader h, long reduceNanos) {
    if (step < warmupSteps) {
      return;
    }
    pushes++;
    compute += h.getComputeNanos();
    wait += h.getPullWaitNanos();
    transfer += h.getPullTransferNanos();
    if (h.getPreviousPushNanos() > 0) {
      previousPushes++;
      push += h.getPreviousPushNanos();
    }
    reduce += reduceNanos;
    WorkerSums w = perWorker.computeIfAbsent(h.getWorkerId(), id -> new WorkerSums());
    w.pushes++;
    w.compute += h.getComputeNanos();
    w.wait += h.getPullWaitNanos();
    w.transfer += h.getPullTransferNanos();
    if (h.getPreviousPushNanos() > 0) {
      w.previousPushes++;
      w.push += h.getPreviousPushNanos();
    }
  }

  void addUpdate(long step, long nanos) {
    long now = System.nanoTime();
    if (step < warmupSteps) {
      windowStartNanos = now; // the measured window starts when the last warm-up step closes
      return;
    }
    if (windowStartNanos == 0) {
      windowStartNanos = now - nanos;
    }
    windowEndNanos = now;
    updates++;
    update += nanos;
  }

  Split split() {
    double perPush = pushes == 0 ? 0 : 1e-6 / pushes;
    double perStep = updates == 0 ? 0 : 1e-6 / updates;
    return new Split(
        updates,
        compute * perPush,
        previousPushes == 0 ? 0 : push * 1e-6 / previousPushes,
        wait * perPush,
        transfer * perPush,
        reduce * perStep,
        update * perStep,
        (windowEndNanos - windowStartNanos) / 1e9,
        workerSplits());
  }

  private List<WorkerSplit> workerSplits() {
    List<WorkerSplit> out = new ArrayList<>();
    perWorker.forEach((id, w) -> out.add(new WorkerSplit(id, w.pushes, w.compute * 1e-6 / w.pushes,
        w.previousPushes == 0 ? 0 : w.push * 1e-6 / w.previousPushes, w.wait * 1e-6 / w.pushes,
        w.transfer * 1e-6 / w.pushes)));
    return out;
  }
}
