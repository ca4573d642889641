package io.gradflow.cli;

/**
 * Ends this JVM when the process that launched it is gone, so that a launcher killed with {@code
 * kill -9} leaves no orphan server or worker behind.
 */
final class ParentWatch {
  private ParentWatch() {}

  /** Starts a daemon thread that halts this JVM once process {@code pid} has exited. */
  static void start(long pid) {
    if (pid <= 0) {
      return;
    }
    Thread t =
        new Thread(
            () -> {
              while (true) {
                boolean alive = ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
                if (!alive) {
                  System.err.println("gradflow: launcher process " + pid + " is gone; exiting");
                  Runtime.getRuntime().halt(ExitCode.INTERRUPTED.code());
                }
                try {
                  Thread.sleep(500);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "parent-watch");
    t.setDaemon(true);
    t.start();
  }
}
