package io.gradflow.ps;

/** A worker the server knows: its id, rank, name, whether it proved its data, when it was last heard of. */
final class Member {
  final String id;
  final int rank;
  final String name;
  boolean ready;
  boolean left;
  long lastSeenNanos;
  /** A push of this worker is being received (its staging buffers are in use). */
  boolean pushing;
  /** Reused staging buffers for this worker's pushes, one per tensor (fixed point); see {@link PushSession}. */
  long[][] staging;
  /** Its push file on the shared-memory data plane (made at the join), or null. */
  io.gradflow.common.shm.SharedPushArea sharedPush;
  /** The worker mapped the shared-memory files (said in Ready): its weights and pushes go through them. */
  boolean sharedMemory;

  Member(String id, int rank, String name, long nowNanos) {
    this.id = id;
    this.rank = rank;
    this.name = name;
    this.lastSeenNanos = nowNanos;
  }

  /** The worker was heard of (a heartbeat, pull or push). */
  void seen(long nowNanos) {
    lastSeenNanos = nowNanos;
  }

  @Override
  public String toString() {
    return "worker " + rank + " (" + name + ")";
  }
}
