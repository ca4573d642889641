package io.gradflow.ps;

/** A worker the server knows: its id, rank, name, and whether it proved its data. */
final class Member {
  final String id;
  final int rank;
  final String name;
  boolean ready;
  boolean left;
  /** A push of this worker is being received (its staging buffers are in use). */
  boolean pushing;
  long lastSeenNanos;
  /** Reused staging buffers for this worker's pushes, one per tensor (fixed point). */
  long[][] staging;
  /** Items of the open step this worker has pushed (so it is not handed them again). */
  final java.util.Set<WorkItem> pushedItems = new java.util.HashSet<>();

  Member(String id, int rank, String name) {
    this.id = id;
    this.rank = rank;
    this.name = name;
    this.lastSeenNanos = System.nanoTime();
  }

  @Override
  public String toString() {
    return "worker " + rank + " (" + name + ")";
  }
}
