package io.gradflow.ps;

/**
 * Where a job is in its life: assembling until every worker is ready, then running (paused while
 * fewer than {@code --min-workers} are live), ending once its last step closed and the background
 * work still runs, and finally finished, failed (with a reason) or rolling back to its newest
 * checkpoint (with a reason). Failure and roll-back are final for this coordinator; a job that
 * finished neither fails nor rolls back. Guarded by the coordinator's lock; it does not lock itself.
 */
final class JobPhase {
  private boolean started;
  private boolean paused;
  private boolean ending;
  private boolean finished;
  private String failure;
  private String rollBack;

  /** Every worker was ready once: the steps open. */
  void start() {
    started = true;
  }

  boolean started() {
    return started;
  }

  /** Pauses the job; true when it was not paused before (the change is worth telling). */
  boolean pause() {
    boolean was = paused;
    paused = true;
    return !was;
  }

  /** Resumes the job; true when it was paused (the change is worth telling). */
  boolean resume() {
    boolean was = paused;
    paused = false;
    return was;
  }

  /** True while steps are handed out: started, not paused. */
  boolean handsOutWork() {
    return started && !paused;
  }

  /** True while the job waits for enough workers (before the start, or paused). */
  boolean waitingForWorkers() {
    return !started || paused;
  }

  /** The last step closed; the job finishes once the background work is done. */
  void end() {
    ending = true;
  }

  boolean ending() {
    return ending;
  }

  /** True while steps may still close: not ending, not failed. */
  boolean stepsClose() {
    return !ending && failure == null;
  }

  void finish() {
    finished = true;
  }

  /** The final save failed after {@link #finish}: the job did not finish after all (it fails next). */
  void unfinish() {
    finished = false;
  }

  boolean finished() {
    return finished;
  }

  /** Records why the job stopped; true when this is its first failure (and it had not finished). */
  boolean fail(String reason) {
    if (failure != null || finished) {
      return false;
    }
    failure = reason;
    return true;
  }

  /** Why the job stopped, or null. */
  String failure() {
    return failure;
  }

  /** Records why the job must roll back; true unless it finished, failed or rolls back already. */
  boolean rollBack(String why) {
    if (finished || failure != null || rollBack != null) {
      return false;
    }
    rollBack = why;
    return true;
  }

  /** Why the job rolls back to its newest checkpoint, or null. */
  String rollBackReason() {
    return rollBack;
  }

  /** True once the coordinator's part is over: finished, failed or rolling back ({@code awaitEnd} returns). */
  boolean over() {
    return finished || failure != null || rollBack != null;
  }
}
