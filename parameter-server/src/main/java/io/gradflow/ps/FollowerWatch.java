package io.gradflow.ps;

/**
 * The coordinator's watch over its followers: a few times a second it asks each follower which
 * generation seeded it. A follower that answers with another one (0: it restarted and holds no
 * state) lost its range of the newest weights, and the job rolls back ({@link
 * FollowerCoordination#rollBack}). A follower that does not answer is only waited for: the workers'
 * pushes to it wait too, and it either comes back (restarted: empty) or the job's patience ends.
 */
public final class FollowerWatch {
  /** How often the followers are asked. */
  static final long INTERVAL_MILLIS = 250;

  private final FollowerClients clients;
  private final FollowerCoordination coordinator;
  private final Thread thread;
  private volatile boolean stopped;

  public FollowerWatch(FollowerClients clients, FollowerCoordination coordinator) {
    this.clients = clients;
    this.coordinator = coordinator;
    this.thread = new Thread(this::watch, "gradflow-follower-watch");
    thread.setDaemon(true);
  }

  public FollowerWatch start() {
    thread.start();
    return this;
  }

  public void stop() {
    stopped = true;
    thread.interrupt();
  }

  private void watch() {
    long mine = coordinator.generation();
    while (!stopped) {
      long[] seen = clients.generations(1_000);
      for (int i = 0; i < seen.length; i++) {
        if (seen[i] >= 0 && seen[i] != mine) {
          coordinator.rollBack("server " + (i + 1) + " lost its state (it " + (seen[i] == 0 ? "restarted" : "was seeded by another coordinator") + ")");
          return;
        }
      }
      try {
        Thread.sleep(INTERVAL_MILLIS);
      } catch (InterruptedException e) {
        return;
      }
    }
  }
}
