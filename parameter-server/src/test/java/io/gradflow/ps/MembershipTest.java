package io.gradflow.ps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Joins in rank order, at most one live worker per micro-shard, the same data to be ready, and expiry of the silent. */
class MembershipTest {
  private static final String DIGEST = "0123456789abcdef0123";
  private final Membership members = new Membership(DIGEST, 300);

  @Test
  void workersJoinInRankOrderAndAtMostOnePerMicroShard() {
    Member a = members.admit("a", 2, 0);
    Member b = members.admit("b", 2, 0);
    assertEquals(List.of(0, 1), List.of(a.rank, b.rank));
    JobRefusal full = assertThrows(JobRefusal.class, () -> members.admit("c", 2, 0));
    assertEquals(JobRefusal.Kind.JOB_FULL, full.kind());
    assertEquals("the job already has 2 workers, one per micro-shard (--micro-shards 2)", full.getMessage());
    b.left = true;
    Member c = members.admit("c", 2, 0);
    assertEquals(2, c.rank, "a rank is never given twice");
    assertEquals(2, members.liveCount());
  }

  @Test
  void anUnknownOrLostWorkerIsAskedToJoinAgain() {
    JobRefusal unknown = assertThrows(JobRefusal.class, () -> members.member("nobody"));
    assertEquals(JobRefusal.Kind.REJOIN, unknown.kind());
    assertTrue(unknown.getMessage().startsWith("unknown worker id 'nobody'"), unknown.getMessage());
    Member a = members.admit("a", 4, 0);
    assertEquals(a, members.member(a.id));
    a.left = true;
    JobRefusal gone = assertThrows(JobRefusal.class, () -> members.member(a.id));
    assertEquals(JobRefusal.Kind.REJOIN, gone.kind());
    assertEquals("worker 0 (a) is no longer part of the job: join again", gone.getMessage());
    assertEquals(a, members.find(a.id), "find still knows it");
  }

  @Test
  void aWorkerIsReadyOnlyWithTheServersTrainingData() {
    Member a = members.admit("a", 4, 0);
    Member b = members.admit("b", 4, 0);
    JobRefusal other = assertThrows(JobRefusal.class, () -> members.ready(b.id, "ffffffffffffffffffff", 299, 5));
    assertEquals(JobRefusal.Kind.REFUSED, other.kind());
    assertEquals("training data differs: worker 1 (b) has 299 rows (sha256 ffffffffffff), the server has 300 rows"
        + " (sha256 0123456789ab)", other.getMessage());
    assertFalse(b.ready);
    members.ready(b.id, DIGEST, 300, 5);
    members.ready(a.id, DIGEST, 300, 5);
    assertEquals(List.of(a, b), members.readyMembers(), "rank order, not the order they got ready");
    a.left = true;
    assertEquals(List.of(b), members.readyMembers());
    assertEquals(1, members.readyCount());
  }

  @Test
  void theSilentAreThoseNotHeardOfForLongerThanTheTimeout() {
    Member a = members.admit("a", 4, 0);
    Member b = members.admit("b", 4, 0);
    Member c = members.admit("c", 4, 0);
    b.seen(600);
    c.left = true;
    assertEquals(List.of(), members.silent(1000, 1000), "exactly the timeout is not past it");
    assertEquals(List.of(a), members.silent(1001, 1000), "b was heard of at 600, c left");
    assertEquals(List.of(a, b), members.silent(1601, 1000));
    assertFalse(members.allLeft());
    a.left = true;
    b.left = true;
    assertTrue(members.allLeft());
  }
}
