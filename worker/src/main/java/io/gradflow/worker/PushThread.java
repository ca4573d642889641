package io.gradflow.worker;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The thread that sends a worker's push while the worker's own thread computes the next step
 * (with staleness, on the shared-memory plane: writing 1.9 MB of sums into the push file, the
 * header and the next pull's request, and clearing the sums cost the worker's thread about a
 * quarter of a step). One push at a time: {@link #start} hands one over, {@link #finish} waits for
 * it; the worker touches its exchange stream only when no push is on this thread, so the stream
 * keeps one user at a time.
 */
final class PushThread implements AutoCloseable {
  private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "gradflow-push");
    t.setDaemon(true);
    return t;
  });

  /** Runs {@code send} on the push thread. */
  <T> Future<T> start(Callable<T> send) {
    return thread.submit(send);
  }

  /** Waits for {@code sending} and returns its result; what it threw is thrown here, unchanged. */
  static <T> T finish(Future<T> sending) {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return sending.get();
        } catch (InterruptedException e) {
          interrupted = true; // the push must end before the stream is used again: wait on
        } catch (ExecutionException e) {
          Throwable cause = e.getCause();
          if (cause instanceof RuntimeException r) {
            throw r;
          }
          if (cause instanceof Error err) {
            throw err;
          }
          throw new IllegalStateException("the push thread failed", cause);
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public void close() {
    thread.shutdownNow();
  }
}
