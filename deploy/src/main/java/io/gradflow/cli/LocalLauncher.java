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
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code gradflow train --workers N}: one parameter server JVM and N worker JVMs on localhost, on
 * free ports, with one progress display for the whole job. Children's logs go to {@code
 * OUT/logs/}.
 *
 * <p>Failures: a worker that dies of a signal or loses the server is replaced (up to {@code
 * --max-restarts}) while the server hands its micro-shards to the others; a worker that fails for
 * good (refused, bad data) is reported, and when no worker is left the job stops. A server that
 * dies of a signal is restarted from its newest checkpoint on the same port, and the workers
 * reconnect. {@code --fault} specs inject such failures on purpose. Every child is stopped at the
 * end and on Ctrl-C; children also watch this process and exit when it is gone, so no JVM outlives
 * the job.
 */
final class LocalLauncher {
  private static final long PORT_WAIT_MILLIS = 180_000;
  /** Exit codes after which a replacement cannot do better: usage, data, model file, refused. */
  private static final Set<Integer> PERMANENT = Set.of(2, 3, 4, 7);

  /** What the launcher runs and how it reacts to failures. */
  record Settings(int workers, int maxRestarts, List<FaultSpec> faults, List<String> serverExtraArgs,
      List<String> workerExtraArgs) {}

  /** One child JVM. */
  private static final class Child {
    final String role;
    final Path log;
    final Process process;
    volatile boolean killedOnPurpose;
    volatile boolean replaceWhenGone;

    Child(String role, Path log, Process process) {
      this.role = role;
      this.log = log;
      this.process = process;
    }
  }

  private final JobOptions job;
  private final ModelSpec spec;
  private final TrainingConfig config;
  private final Settings settings;
  private final Path out;
  private final Path logs;
  private final ProgressDisplay display;
  private final List<Child> children = new ArrayList<>();
  private final List<Child> workers = new ArrayList<>();
  private final boolean[] faultDone;
  private Child server;
  private int port;
  private int restarts;
  private volatile boolean ending;
  private volatile String failure;

  LocalLauncher(JobOptions job, ModelSpec spec, TrainingConfig config, Settings settings, Path out,
      ProgressDisplay display) {
    this.job = job;
    this.spec = spec;
    this.config = config;
    this.settings = settings;
    this.out = out;
    this.logs = out.resolve("logs");
    this.display = display;
    this.faultDone = new boolean[settings.faults().size()];
  }

  /** Runs the job; returns normally when it succeeded, throws {@link CommandFailure} otherwise. */
  void run() throws IOException, InterruptedException {
    Files.createDirectories(logs);
    Thread cleanup = new Thread(this::destroyAll, "gradflow-launcher-cleanup");
    Runtime.getRuntime().addShutdownHook(cleanup);
    try {
      startServer(false);
      for (int i = 0; i < settings.workers(); i++) {
        startWorker();
      }
      while (true) {
        boolean finished = readEvents(server);
        int code = server.process.waitFor();
        if (finished && code == 0) {
          break;
        }
        if (failure != null) {
          throw new CommandFailure(ExitCode.FAILED, failure);
        }
        boolean restartable = server.killedOnPurpose || code >= 128;
        if (!restartable || (!server.killedOnPurpose && restarts >= settings.maxRestarts())) {
          throw new CommandFailure(code == ExitCode.DATA.code() ? ExitCode.DATA : ExitCode.FAILED,
              "parameter server exited with code " + code + ": " + LocalLauncher.lastLine(server.log));
        }
        if (!server.killedOnPurpose) {
          restarts++;
        }
        display.onEvent("parameter server exited with code " + code + "; restarting it from its newest checkpoint");
        startServer(true);
      }
      ending = true;
      for (Child w : snapshot(workers)) {
        if (!w.process.waitFor(30, TimeUnit.SECONDS)) {
          w.process.destroyForcibly();
        }
      }
    } finally {
      ending = true;
      destroyAll();
      try {
        Runtime.getRuntime().removeShutdownHook(cleanup);
      } catch (IllegalStateException e) {
        // shutting down already: the hook runs
      }
    }
  }

  /** Reads the server's events until it closes stdout; returns whether the job finished. */
  private boolean readEvents(Child s) throws IOException {
    EventStream.Reader events = new EventStream.Reader(display, spec, config);
    try (BufferedReader lines = new BufferedReader(new InputStreamReader(s.process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = lines.readLine()) != null) {
        if (line.startsWith("wrote ")) {
          continue;
        }
        events.accept(line);
        if (line.startsWith(EventStream.PREFIX + "step ")) {
          injectFaults(events.lastStep() + 1);
        }
      }
    } catch (IOException e) {
      if (!s.killedOnPurpose && s.process.isAlive()) {
        throw e;
      }
      // the server was killed: its stream closed under us, like an end of file
    }
    return events.finished();
  }

  private void injectFaults(long completedSteps) throws IOException {
    for (int i = 0; i < faultDone.length; i++) {
      FaultSpec f = settings.faults().get(i);
      if (faultDone[i] || f.kind() == FaultSpec.Kind.DELAY_WORKER || completedSteps < f.step()) {
        continue;
      }
      faultDone[i] = true;
      switch (f.kind()) {
        case KILL_SERVER -> {
          display.onEvent("fault: kill -9 the parameter server after step " + completedSteps);
          server.killedOnPurpose = true;
          server.process.destroyForcibly();
        }
        case ADD_WORKER -> {
          display.onEvent("fault: a new worker joins after step " + completedSteps);
          startWorker();
        }
        case KILL_WORKER, RESTART_WORKER -> {
          Child w = f.worker() < workers.size() ? workers.get(f.worker()) : null;
          if (w == null || !w.process.isAlive()) {
            display.onEvent("fault: worker " + f.worker() + " is not running; nothing to kill");
            continue;
          }
          display.onEvent("fault: kill -9 worker " + f.worker() + " after step " + completedSteps
              + (f.kind() == FaultSpec.Kind.RESTART_WORKER ? " and start a replacement" : ""));
          w.killedOnPurpose = true;
          w.replaceWhenGone = f.kind() == FaultSpec.Kind.RESTART_WORKER;
          w.process.destroyForcibly();
        }
        default -> {}
      }
    }
  }

  private void startServer(boolean resume) throws IOException, InterruptedException {
    Path portFile = logs.resolve("server.port");
    Files.deleteIfExists(portFile);
    List<String> args = new ArrayList<>(List.of(
        "server", "--port", Integer.toString(resume ? port : 0), "--bind", "127.0.0.1",
        "--port-file", portFile.toString(), "--workers", Integer.toString(settings.workers()),
        "--out", out.toString(), "--events", "--parent-pid", Long.toString(ProcessHandle.current().pid())));
    args.addAll(job.toArgs());
    args.addAll(settings.serverExtraArgs());
    if (resume) {
      args.addAll(List.of("--resume", out.toString()));
    }
    Path log = logs.resolve("server.log");
    server = start("server", args, null, log, resume);
    port = awaitPort(server, portFile);
  }

  private synchronized void startWorker() throws IOException {
    int index = workers.size();
    List<String> args = new ArrayList<>(List.of(
        "worker", "--server", "127.0.0.1:" + port, "--name", "worker-" + index,
        "--parent-pid", Long.toString(ProcessHandle.current().pid())));
    args.addAll(job.toArgs());
    args.addAll(settings.workerExtraArgs());
    for (FaultSpec f : settings.faults()) {
      if (f.kind() == FaultSpec.Kind.DELAY_WORKER && f.worker() == index) {
        args.addAll(List.of("--push-delay-ms", Long.toString(f.millis())));
      }
    }
    Path log = logs.resolve("worker-" + index + ".log");
    Child w = start("worker " + index, args, log, log, false);
    workers.add(w);
    w.process.onExit().thenAccept(p -> workerExited(w, p.exitValue()));
  }

  /** A worker ended: replace it, report it, or stop the job when none is left. */
  private synchronized void workerExited(Child w, int code) {
    if (ending || code == 0) {
      return;
    }
    try {
      if (w.killedOnPurpose) {
        if (w.replaceWhenGone) {
          startWorker();
        }
        return;
      }
      String reason = w.role + " exited with code " + code + ": " + lastLine(w.log);
      if (!PERMANENT.contains(code) && restarts < settings.maxRestarts()) {
        restarts++;
        display.onEvent(reason + "; starting a replacement (" + restarts + "/" + settings.maxRestarts() + ")");
        startWorker();
        return;
      }
      long alive = workers.stream().filter(c -> c.process.isAlive()).count();
      if (alive == 0) {
        failure = reason + "; no worker left";
        destroyAll();
      } else {
        display.onEvent(reason + "; the job goes on with " + alive + " worker(s)");
      }
    } catch (IOException e) {
      failure = "cannot start a replacement worker: " + e.getMessage();
      destroyAll();
    }
  }

  private Child start(String role, List<String> args, Path stdout, Path stderr, boolean appendLog) throws IOException {
    List<String> cmd = new ArrayList<>(javaCommand());
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    ProcessBuilder.Redirect logTarget =
        appendLog ? ProcessBuilder.Redirect.appendTo(stderr.toFile()) : ProcessBuilder.Redirect.to(stderr.toFile());
    if (stdout != null && stdout.equals(stderr)) {
      pb.redirectErrorStream(true).redirectOutput(logTarget);
    } else {
      pb.redirectError(logTarget);
    }
    pb.environment().put("GRADFLOW_PROGRESS", "plain");
    Child c = new Child(role, stderr, pb.start());
    synchronized (children) {
      children.add(c);
    }
    return c;
  }

  private int awaitPort(Child s, Path portFile) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PORT_WAIT_MILLIS);
    while (System.nanoTime() < deadline) {
      if (Files.exists(portFile)) {
        return Integer.parseInt(Files.readString(portFile).trim());
      }
      if (!s.process.isAlive()) {
        int code = s.process.exitValue();
        throw new CommandFailure(
            code == ExitCode.DATA.code() ? ExitCode.DATA : code == ExitCode.MODEL_FILE.code() ? ExitCode.MODEL_FILE : ExitCode.FAILED,
            "parameter server exited with code " + code + " before serving: " + lastLine(s.log));
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

  private static List<Child> snapshot(List<Child> list) {
    synchronized (list) {
      return new ArrayList<>(list);
    }
  }

  private void destroyAll() {
    ending = true;
    List<Child> all;
    synchronized (children) {
      all = new ArrayList<>(children);
    }
    for (Child c : all) {
      if (c.process.isAlive()) {
        c.process.destroy();
      }
    }
    for (Child c : all) {
      try {
        if (!c.process.waitFor(5, TimeUnit.SECONDS)) {
          c.process.destroyForcibly();
          c.process.waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        c.process.destroyForcibly();
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
