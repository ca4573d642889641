package io.gradflow.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The worker's push thread: runs each push off the caller's thread and hands back its result or failure as it was. */
class PushThreadTest {

  @Test
  void aPushRunsOnThePushThreadAndItsResultComesBack() {
    try (PushThread pushes = new PushThread()) {
      Future<String> sent = pushes.start(() -> Thread.currentThread().getName());
      assertEquals("gradflow-push", PushThread.finish(sent));
    }
  }

  @Test
  void whatAPushThrowsIsThrownUnchangedToTheWorkersThread() {
    StatusRuntimeException broken = Status.UNAVAILABLE.withDescription("the exchange socket broke").asRuntimeException();
    try (PushThread pushes = new PushThread()) {
      Future<Object> sent = pushes.start(() -> {
        throw broken;
      });
      assertSame(broken, assertThrows(StatusRuntimeException.class, () -> PushThread.finish(sent)));
    }
  }

  /** The worker must not use its stream while a push is on it: an interrupt does not end the wait early. */
  @Test
  void finishWaitsForThePushEvenWhenInterrupted() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (PushThread pushes = new PushThread()) {
      Future<String> sent = pushes.start(() -> {
        release.await(10, TimeUnit.SECONDS);
        return "sent";
      });
      Thread.currentThread().interrupt();
      new Thread(() -> {
        sleep(200);
        release.countDown();
      }).start();
      assertEquals("sent", PushThread.finish(sent)); // not an InterruptedException: it waited for the push
      assertTrue(Thread.interrupted(), "the interrupt is kept for the caller");
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
