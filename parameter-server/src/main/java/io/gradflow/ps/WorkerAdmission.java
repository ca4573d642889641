package io.gradflow.ps;

import io.gradflow.common.train.TrainingListener;
import io.gradflow.proto.JoinRequest;
import io.gradflow.proto.JoinResponse;
import java.util.Locale;

/**
 * The workers' way into and out of the job: a worker joins ({@link #join}), proves its training
 * data ({@link #ready}; the job starts when enough are ready), is heard of ({@link #heartbeat}),
 * and leaves ({@link #leave}) or, silent too long, is lost ({@link #loseSilent}). Each public call
 * takes the coordinator's lock (its monitor), which guards the job's state these calls change; the
 * workers are kept by {@link Membership}, and what a running job does when one comes or goes is
 * {@link MembershipChanges}'s. The coordinator keeps the open step, starts and fails the job, and
 * answers the waiting pulls after a change.
 */
public final class WorkerAdmission {
  private final StepCoordinator coordinator;
  private final JobIdentity identity;
  private final Membership membership;
  private final OpenSteps steps;
  private final JobPhase phase;
  private final MembershipChanges changes;
  private final ShardedServers servers;
  private final int workers;
  private final TrainingListener listener;

  WorkerAdmission(StepCoordinator coordinator, JobIdentity identity, Membership membership, OpenSteps steps, JobPhase phase,
      MembershipChanges changes, ShardedServers servers, int workers, TrainingListener listener) {
    this.coordinator = coordinator;
    this.identity = identity;
    this.membership = membership;
    this.steps = steps;
    this.phase = phase;
    this.changes = changes;
    this.servers = servers;
    this.workers = workers;
    this.listener = listener;
  }

  /** Admits a worker whose fingerprint matches (or who brings none) while the job runs or waits. */
  public JoinResponse join(JoinRequest request) {
    synchronized (coordinator) {
      String what = identity.differences(request);
      if (what != null) {
        listener.onEvent("refused " + request.getWorkerName() + ": job differs: " + what);
        throw JobRefusal.refused("this worker's job differs from the server's: " + what);
      }
      long step = coordinator.step();
      if (phase.finished()) {
        throw PullAnswers.jobOver(step);
      }
      if (phase.failure() != null) {
        throw JobRefusal.refused("the job stopped: " + phase.failure());
      }
      Member m = membership.admit(request.getWorkerName(), steps.microShards(), System.nanoTime());
      LocalPlane plane = coordinator.plane();
      if (plane != null) {
        m.sharedPush = plane.pushAreaFor(m.id);
      }
      listener.onEvent("joined: " + m + ", " + membership.liveCount() + (phase.started() ? " live" : "/" + workers)
          + (phase.started() ? "; it computes from step " + (step + 2) + " on" : ""));
      JoinResponse admitted = identity.admitted(m, step);
      admitted = servers.tellWorker(admitted);
      return m.sharedPush == null ? admitted : plane.tell(admitted);
    }
  }

  /** Marks a worker ready once its training set matches the server's; starts the job when all are. */
  public void ready(String workerId, String digest, long count) {
    ready(workerId, digest, count, false);
  }

  /** As {@link #ready(String, String, long)}; {@code sharedMemory}: the worker mapped the shared-memory files. */
  public void ready(String workerId, String digest, long count, boolean sharedMemory) {
    synchronized (coordinator) {
      Member m = membership.ready(workerId, digest, count, System.nanoTime());
      m.sharedMemory = sharedMemory && m.sharedPush != null;
      if (!phase.started() && membership.readyCount() >= workers) {
        coordinator.start();
      } else if (phase.started() && changes.resumeIfEnoughWorkers()) {
        coordinator.changed();
      }
    }
  }

  /** A heartbeat: the worker is alive; returns the open step. */
  public long heartbeat(String workerId) {
    synchronized (coordinator) {
      membership.member(workerId).seen(System.nanoTime());
      return coordinator.step();
    }
  }

  /**
   * A worker leaves. During a running job its micro-shards go to the others; a fatal leave (the
   * worker found something no other worker can fix, like a non-finite gradient) stops the job.
   */
  public void leave(String workerId, String reason, boolean fatal) {
    synchronized (coordinator) {
      Member m = membership.find(workerId);
      if (m == null || m.left) {
        return; // unknown, or gone already
      }
      if (fatal && phase.started() && !phase.finished()) {
        m.left = true;
        coordinator.fail(m + ": " + reason);
        return;
      }
      lose(m, reason.isEmpty() ? (phase.finished() ? "" : "left") : reason);
    }
  }

  /**
   * Declares lost every live worker silent for longer than {@code timeoutNanos} at {@code now}. The
   * caller holds the coordinator's lock ({@link StepCoordinator#checkDeadlines}).
   */
  void loseSilent(long now, long timeoutNanos) {
    for (Member m : membership.silent(now, timeoutNanos)) {
      lose(m, String.format(Locale.ROOT, "no heartbeat for %.1f s", (now - m.lastSeenNanos) / 1e9));
    }
  }

  /** A worker is gone: its unfinished micro-shards go to the survivors, now ({@link MembershipChanges#lose}). */
  private void lose(Member m, String why) {
    LocalPlane plane = coordinator.plane();
    if (plane != null) {
      plane.forget(m.id);
    }
    changes.lose(m, why);
    coordinator.changed();
  }
}
