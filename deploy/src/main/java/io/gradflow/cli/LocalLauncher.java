package io.gradflow.cli;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.train.TrainingConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code gradflow train --workers N}: one parameter server JVM and N worker JVMs on localhost, on
 * free ports, with one progress display for the whole job. Every child is stopped at the end, on
 * Ctrl-C, and as soon as any child dies unexpectedly; children also watch this process and exit
 * when it is gone, so no JVM outlives the job. Children's logs go to {@code OUT/logs/}.
 */
final class LocalLauncher {
  private static final long PORT_WAIT_MILLIS = 180_000;

  private final JobOptions job;
  private final ModelSpec spec;
  private final TrainingConfig config;
  private final int workers;
  private final Path out;
  private final List<String> serverExtraArgs;
  private final List<String> workerExtraArgs;
  private final ProgressDisplay display;
  private final List<Process> children = new ArrayList<>();
  private volatile String failure;

  LocalLauncher(
      JobOptions job, ModelSpec spec, TrainingConfig config, int workers, Path out,
      List<String> serverExtraArgs, List<String> workerExtraArgs, ProgressDisplay display) {
    this.job = job;
    this.spec = spec;
    this.config = config;
    this.workers = workers;
    this.out = out;
    this.serverExtraArgs = serverExtraArgs;
    this.workerExtraArgs = workerExtraArgs;
    this.display = display;
  }

  /** Runs the job; returns normally when it succeeded, throws {@link CommandFailure} otherwise. */
  void run() throws IOException, InterruptedException {
    Path logs = out.resolve("logs");
    Files.createDirectories(logs);
    Path portFile = logs.resolve("server.port");
    Files.deleteIfExists(portFile);
    Thread cleanup = new Thread(this::destroyAll, "gradflow-launcher-cleanup");
    Runtime.getRuntime().addShutdownHook(cleanup);
    try {
      List<String> serverArgs = new ArrayList<>(List.of(
          "server", "--port", "0", "--bind", "127.0.0.1", "--port-file", portFile.toString(),
          "--workers", Integer.toString(workers), "--out", out.toString(), "--events",
          "--parent-pid", Long.toString(ProcessHandle.current().pid())));
      serverArgs.addAll(job.toArgs());
      serverArgs.addAll(serverExtraArgs);
      Process server = start(serverArgs, null, logs.resolve("server.log"));
      int port = awaitPort(server, portFile, logs.resolve("server.log"));
      for (int i = 0; i < workers; i++) {
        List<String> workerArgs = new ArrayList<>(List.of(
            "worker", "--server", "127.0.0.1:" + port, "--name", "worker-" + i,
            "--parent-pid", Long.toString(ProcessHandle.current().pid())));
        workerArgs.addAll(job.toArgs());
        workerArgs.addAll(workerExtraArgs);
        Path log = logs.resolve("worker-" + i + ".log");
        Process w = start(workerArgs, log, log);
        int rank = i;
        w.onExit().thenAccept(p -> {
          if (p.exitValue() != 0 && failure == null) {
            failure = "worker " + rank + " exited with code " + p.exitValue() + ": " + lastLine(log);
            destroyAll();
          }
        });
      }
      EventStream.Reader events = new EventStream.Reader(display, spec, config);
      try (BufferedReader lines = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = lines.readLine()) != null) {
          if (line.startsWith(EventStream.PREFIX) || !line.startsWith("wrote ")) {
            events.accept(line);
          }
        }
      }
      int serverCode = server.waitFor();
      for (Process p : children) {
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
      if (failure != null) {
        throw new CommandFailure(ExitCode.FAILED, failure);
      }
      if (serverCode != 0 || !events.finished()) {
        throw new CommandFailure(ExitCode.FAILED,
            "parameter server exited with code " + serverCode + ": " + lastLine(logs.resolve("server.log")));
      }
      for (int i = 0; i < children.size(); i++) {
        if (children.get(i).exitValue() != 0) {
          throw new CommandFailure(ExitCode.FAILED, "a child exited with code " + children.get(i).exitValue());
        }
      }
    } finally {
      destroyAll();
      try {
        Runtime.getRuntime().removeShutdownHook(cleanup);
      } catch (IllegalStateException e) {
        // shutting down already: the hook runs
      }
    }
  }

  private Process start(List<String> args, Path stdout, Path stderr) throws IOException {
    List<String> cmd = new ArrayList<>(javaCommand());
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    if (stdout != null && stdout.equals(stderr)) {
      pb.redirectErrorStream(true).redirectOutput(stdout.toFile());
    } else {
      if (stdout != null) {
        pb.redirectOutput(stdout.toFile());
      }
      pb.redirectError(stderr.toFile());
    }
    pb.environment().put("GRADFLOW_PROGRESS", "plain");
    Process p = pb.start();
    synchronized (children) {
      children.add(p);
    }
    return p;
  }

  private int awaitPort(Process server, Path portFile, Path serverLog) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PORT_WAIT_MILLIS);
    while (System.nanoTime() < deadline) {
      if (Files.exists(portFile)) {
        return Integer.parseInt(Files.readString(portFile).trim());
      }
      if (!server.isAlive()) {
        // Drain what it printed on stdout (a usage error, say) before blaming the log.
        throw new CommandFailure(
            server.exitValue() == ExitCode.DATA.code() ? ExitCode.DATA : ExitCode.FAILED,
            "parameter server exited with code " + server.exitValue() + " before serving: " + lastLine(serverLog));
      }
      Thread.sleep(50);
    }
    throw new CommandFailure(ExitCode.FAILED, "parameter server did not start serving within " + PORT_WAIT_MILLIS / 1000 + " s");
  }

  /** The java command that runs this same program, with the JVM flags gradflow needs. */
  static List<String> javaCommand() {
    String java = ProcessHandle.current().info().command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector"));
    String extra = System.getenv("GRADFLOW_CHILD_JAVA_OPTS");
    if (extra != null && !extra.isBlank()) {
      cmd.addAll(List.of(extra.trim().split("\\s+")));
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
    return cmd;
  }

  private void destroyAll() {
    List<Process> snapshot;
    synchronized (children) {
      snapshot = new ArrayList<>(children);
    }
    for (Process p : snapshot) {
      if (p.isAlive()) {
        p.destroy();
      }
    }
    for (Process p : snapshot) {
      try {
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          p.waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The last non-blank line of a log, which for gradflow's commands is the one-line reason. */
  static String lastLine(Path log) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      for (int i = lines.size() - 1; i >= 0; i--) {
        if (!lines.get(i).isBlank()) {
          return lines.get(i).trim();
        }
      }
      return "(its log " + log + " is empty)";
    } catch (IOException e) {
      return "(no log at " + log + ")";
    }
  }
}
