package io.gradflow.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

/**
 * Starts a launcher's child processes, watches them and stops them. Every child is stopped when
 * the supervisor is closed, and by a shutdown hook when this JVM ends first (Ctrl-C, kill), so no
 * child outlives the launcher. Stopping closes each child's standard input first (the wrapper of
 * a remote ssh worker ends the worker when it does), waits {@code stdinGrace}, then asks each
 * child to end (SIGTERM) and kills what is left after 5 s.
 */
final class ProcessSupervisor implements AutoCloseable {
  /** How long a starting server may take before it writes its port file. */
  static final Duration PORT_WAIT = Duration.ofSeconds(180);

  private static final Duration TERM_GRACE = Duration.ofSeconds(5);

  /** One child process: its role in messages ({@code worker 2}) and the log that holds its last words. */
  static final class Child {
    final String role;
    final Path log;
    final Process process;
    /** Set when the launcher killed it on purpose (a --fault): its end is no failure. */
    volatile boolean killedOnPurpose;

    private Child(String role, Path log, Process process) {
      this.role = role;
      this.log = log;
      this.process = process;
    }

    /** The last non-blank line of its log: for gradflow's commands the one-line reason they ended. */
    String lastWords() {
      return lastLine(log);
    }

    /** Kills it (SIGKILL) on purpose. */
    void kill() {
      killedOnPurpose = true;
      process.destroyForcibly();
    }
  }

  private final Duration stdinGrace;
  private final List<Child> children = new ArrayList<>();
  private final Thread hook;
  private volatile boolean stopping;

  /**
   * @param name names the shutdown hook's thread
   * @param stdinGrace how long children get to end by themselves once their stdin is closed
   */
  ProcessSupervisor(String name, Duration stdinGrace) {
    this.stdinGrace = stdinGrace;
    this.hook = new Thread(this::stopAll, name + "-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /** Starts a child; its environment says {@code GRADFLOW_PROGRESS=plain} (no terminal redraws). */
  Child start(String role, ProcessBuilder builder, Path log) throws IOException {
    builder.environment().put("GRADFLOW_PROGRESS", "plain");
    Child c = new Child(role, log, builder.start());
    synchronized (children) {
      children.add(c);
    }
    return c;
  }

  /**
   * Calls {@code action} with the exit code once {@code child} ends with a non-zero code, unless
   * the supervisor is stopping by then.
   */
  void onFailure(Child child, IntConsumer action) {
    child.process.onExit().thenAccept(p -> {
      int code = p.exitValue();
      if (code != 0 && !stopping) {
        action.accept(code);
      }
    });
  }

  /**
   * How often {@link #awaitPort} looks for the port file: the workers start when it appears, so
   * the poll's half-period is added to every job's start (a look costs a few microseconds).
   */
  private static final long PORT_POLL_MILLIS = 5;

  /**
   * Waits until a starting server has written its port to {@code portFile} and returns the port;
   * a server that exits first, or takes longer than {@link #PORT_WAIT}, ends the job with its reason.
   */
  int awaitPort(Child server, Path portFile) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + PORT_WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      if (Files.exists(portFile)) {
        return Integer.parseInt(Files.readString(portFile).trim());
      }
      if (!server.process.isAlive()) {
        int code = server.process.exitValue();
        throw new CommandFailure(ExitCode.ofChild(code),
            server.role + " exited with code " + code + " before serving: " + server.lastWords());
      }
      Thread.sleep(PORT_POLL_MILLIS);
    }
    throw new CommandFailure(ExitCode.FAILED,
        server.role + " did not start serving within " + PORT_WAIT.toSeconds() + " s");
  }

  /** Waits up to {@code timeout} in all for {@code some} children to end by themselves. */
  static void awaitExit(Collection<Child> some, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (Child c : some) {
      c.process.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    }
  }

  /** The children started so far. */
  List<Child> children() {
    synchronized (children) {
      return new ArrayList<>(children);
    }
  }

  /** Stops every child: stdin closed, {@code stdinGrace}, SIGTERM, 5 s, SIGKILL; returns once they are gone. */
  void stopAll() {
    stopping = true;
    List<Child> all = children();
    for (Child c : all) {
      try {
        c.process.getOutputStream().close();
      } catch (IOException e) {
        // already closed
      }
    }
    try {
      if (!stdinGrace.isZero()) {
        awaitExit(all, stdinGrace);
      }
      for (Child c : all) {
        c.process.destroy();
      }
      awaitExit(all, TERM_GRACE);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (Child c : all) {
      c.process.destroyForcibly();
    }
    try {
      awaitExit(all, TERM_GRACE);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops every child and removes the shutdown hook. */
  @Override
  public void close() {
    stopAll();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // shutting down already: the hook runs
    }
  }

  /**
   * The last non-blank line of a log, which for gradflow's commands is the one-line reason (a usage
   * error's "Try '... --help'" hint after it is skipped).
   */
  static String lastLine(Path log) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      for (int i = lines.size() - 1; i >= 0; i--) {
        if (!lines.get(i).isBlank() && !lines.get(i).startsWith("Try '")) {
          return lines.get(i).trim();
        }
      }
      return "(its log " + log + " is empty)";
    } catch (IOException e) {
      return "(no log at " + log + ")";
    }
  }
}
