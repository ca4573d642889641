package io.gradflow.ps;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The workers of a job: who joined (in rank order), who proved the same training data, who is
 * still heard of. Guarded by the coordinator's lock; it does not lock itself.
 */
final class Membership {
  private final Map<String, Member> members = new LinkedHashMap<>();
  private final String dataDigest;
  private final int trainCount;
  private int nextRank;

  /** @param dataDigest the SHA-256 of the server's training set, which every worker must match */
  Membership(String dataDigest, int trainCount) {
    this.dataDigest = dataDigest;
    this.trainCount = trainCount;
  }

  /** Admits a new worker with the next rank, unless every one of the {@code microShards} has a live worker already. */
  Member admit(String name, int microShards, long nowNanos) {
    int live = liveCount();
    if (live >= microShards) {
      throw JobRefusal.jobFull("the job already has " + live + " workers, one per micro-shard (--micro-shards " + microShards + ")");
    }
    Member m = new Member(UUID.randomUUID().toString(), nextRank++, name, nowNanos);
    members.put(m.id, m);
    return m;
  }

  /** The live worker with this id; a worker the server does not know (any more) is asked to join again. */
  Member member(String workerId) {
    Member m = members.get(workerId);
    if (m == null) {
      throw JobRefusal.rejoin("unknown worker id '" + workerId + "' (the server may have restarted): join again");
    }
    if (m.left) {
      throw JobRefusal.rejoin(m + " is no longer part of the job: join again");
    }
    return m;
  }

  /** The worker with this id, live or gone, or null. */
  Member find(String workerId) {
    return members.get(workerId);
  }

  /** Marks a worker ready once its training set is the server's. */
  Member ready(String workerId, String digest, long count, long nowNanos) {
    Member m = member(workerId);
    if (!dataDigest.equals(digest)) {
      throw JobRefusal.refused(
          "training data differs: " + m + " has " + count + " rows (sha256 " + shortHash(digest)
              + "), the server has " + trainCount + " rows (sha256 " + shortHash(dataDigest) + ")");
    }
    m.ready = true;
    m.seen(nowNanos);
    return m;
  }

  /** Workers that joined and have not left. */
  int liveCount() {
    return (int) members.values().stream().filter(m -> !m.left).count();
  }

  /** Workers that proved their data and have not left. */
  int readyCount() {
    return readyMembers().size();
  }

  /** The ready, live workers in rank order: those that compute the step. */
  List<Member> readyMembers() {
    List<Member> ready = new ArrayList<>();
    for (Member m : members.values()) {
      if (m.ready && !m.left) {
        ready.add(m);
      }
    }
    return ready;
  }

  /** True when every worker that ever joined has left. */
  boolean allLeft() {
    return members.values().stream().allMatch(m -> m.left);
  }

  /** The live workers not heard of for longer than {@code timeoutNanos}, in rank order. */
  List<Member> silent(long nowNanos, long timeoutNanos) {
    List<Member> silent = new ArrayList<>();
    for (Member m : members.values()) {
      if (!m.left && nowNanos - m.lastSeenNanos > timeoutNanos) {
        silent.add(m);
      }
    }
    return silent;
  }

  private static String shortHash(String hex) {
    return hex.length() > 12 ? hex.substring(0, 12) : hex;
  }
}
