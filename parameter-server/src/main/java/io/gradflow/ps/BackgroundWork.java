package io.gradflow.ps;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/**
 * The work of a closed step that the next step need not wait for (the test evaluation at the end
 * of an epoch, checkpoint writes, the job's final report), run one task at a time, in the order
 * submitted, on one daemon thread. A task that throws is handed to {@code failed} with its message
 * (the job cannot go on without its records), and later tasks still run.
 */
final class BackgroundWork {
  private final ExecutorService thread =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "gradflow-step-background");
            t.setDaemon(true);
            return t;
          });
  private final Consumer<String> failed;

  BackgroundWork(Consumer<String> failed) {
    this.failed = failed;
  }

  void submit(Runnable task) {
    thread.execute(
        () -> {
          try {
            task.run();
          } catch (RuntimeException e) {
            failed.accept(String.valueOf(e.getMessage()));
          }
        });
  }

  /** Runs the tasks already submitted and no new ones; the thread ends after the last. */
  void shutdown() {
    thread.shutdown();
  }
}
