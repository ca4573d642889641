package io.gradflow.ps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.wire.Rejoin;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Each kind of refusal is one Status code with the refusal's message; only a rejoin carries the rejoin marker. */
class RefusalStatusTest {
  @Test
  void eachKindHasItsStatusCodeAndKeepsTheMessage() {
    Map<JobRefusal, Status.Code> expected = Map.of(
        JobRefusal.badRequest("bad"), Status.Code.INVALID_ARGUMENT,
        JobRefusal.refused("other job"), Status.Code.FAILED_PRECONDITION,
        JobRefusal.jobFull("full"), Status.Code.RESOURCE_EXHAUSTED,
        JobRefusal.jobStopped("stopped"), Status.Code.ABORTED,
        JobRefusal.jobOver("over"), Status.Code.OUT_OF_RANGE,
        JobRefusal.shuttingDown("down"), Status.Code.UNAVAILABLE,
        JobRefusal.rejoin("join again"), Status.Code.FAILED_PRECONDITION);
    assertEquals(JobRefusal.Kind.values().length, expected.size(), "every kind is mapped");
    expected.forEach((refusal, code) -> {
      StatusRuntimeException e = RefusalStatus.of(refusal);
      assertEquals(code, e.getStatus().getCode(), refusal.kind().toString());
      assertEquals(refusal.getMessage(), e.getStatus().getDescription());
      assertEquals(refusal.kind() == JobRefusal.Kind.REJOIN, Rejoin.isAsked(e), refusal.kind().toString());
    });
  }

  @Test
  void anythingElseIsAnInternalError() {
    StatusRuntimeException e = RefusalStatus.of(new IllegalStateException("broken invariant"));
    assertEquals(Status.Code.INTERNAL, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("broken invariant"));
    assertFalse(Rejoin.isAsked(e));
  }
}
