package io.gradflow.cli;

import io.gradflow.cli.ProcessSupervisor.Child;
import io.gradflow.common.train.TrainingConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

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
  /** How long workers get to end by themselves once the job has finished. */
  private static final Duration WORKER_EXIT = Duration.ofSeconds(30);

  /** How many workers, how often a dead one is replaced, and the failures to inject. */
  /**
   * @param unixSocket whether the workers reach the server through a Unix domain socket (where this
   *     system has them) instead of loopback TCP
   */
  record Settings(int workers, int maxRestarts, List<FaultSpec> faults, boolean unixSocket) {
    /** Settings with a Unix domain socket where the system has them. */
    Settings(int workers, int maxRestarts, List<FaultSpec> faults) {
      this(workers, maxRestarts, faults, true);
    }
  }

  private final JobLaunch job;
  private final Settings settings;
  private final List<Child> workers = new ArrayList<>();
  /** Workers killed by a restart-worker fault: each gets a replacement once it is gone. */
  private final Set<Child> replaceWhenGone = new HashSet<>();
  private final boolean[] faultDone;
  private ProcessSupervisor supervisor;
  private Child server;
  private int port;
  /** The server's Unix domain socket for the workers, or null: they use loopback TCP. */
  private Path socket;
  private int restarts;
  private volatile boolean ending;
  private volatile String failure;

  /** What a worker says when the server stopped the job (a failed save, a divergence). */
  private static final String JOB_STOPPED = "the job stopped: ";

  LocalLauncher(JobLaunch job, Settings settings) {
    checkWorkers(settings.workers(), job.config());
    this.job = job;
    this.settings = settings;
    this.faultDone = new boolean[settings.faults().size()];
  }

  /** Every worker needs a micro-shard: more workers than the job's micro-shards is a usage error. */
  static void checkWorkers(int workers, TrainingConfig config) {
    if (workers > config.microShards()) {
      throw CommandFailure.usage("--workers " + workers + " exceeds --micro-shards " + config.microShards()
          + ": raise --micro-shards to at least the worker count");
    }
  }

  /** Runs the job; returns normally when it succeeded, throws {@link CommandFailure} otherwise. */
  void run() throws IOException, InterruptedException {
    Path socketDir = settings.unixSocket() && Transport.unixSocketsAvailable() ? Files.createTempDirectory("gradflow-") : null;
    socket = socketDir == null ? null : socketDir.resolve("server.sock");
    try (ProcessSupervisor s = new ProcessSupervisor("gradflow-launcher", Duration.ZERO)) {
      supervisor = s;
      startServer(false);
      for (int i = 0; i < settings.workers(); i++) {
        startWorker();
      }
      while (true) {
        boolean finished = readEvents();
        int code = server.process.waitFor();
        if (finished && code == 0) {
          break;
        }
        if (failure != null) {
          throw new CommandFailure(ExitCode.FAILED, failure);
        }
        boolean restartable = server.killedOnPurpose || code >= 128;
        if (!restartable || (!server.killedOnPurpose && restarts >= settings.maxRestarts())) {
          throw new CommandFailure(ExitCode.ofChild(code),
              "parameter server exited with code " + code + ": " + server.lastWords());
        }
        if (!server.killedOnPurpose) {
          restarts++;
        }
        job.display().onEvent("parameter server exited with code " + code + "; restarting it from its newest checkpoint");
        startServer(true);
      }
      ending = true;
      ProcessSupervisor.awaitExit(workers(), WORKER_EXIT);
    } finally {
      ending = true;
      if (socketDir != null) {
        Files.deleteIfExists(socket);
        Files.deleteIfExists(socketDir);
      }
    }
  }

  /** Follows the server's events until it closes stdout; returns whether the job finished. */
  private boolean readEvents() throws IOException {
    EventStream.Reader events = job.events();
    try {
      events.follow(server.process.getInputStream(), this::injectFaults);
    } catch (IOException e) {
      if (!server.killedOnPurpose && server.process.isAlive()) {
        throw e;
      }
      // the server was killed: its stream closed under us, like an end of file
    }
    return events.finished();
  }

  private synchronized void injectFaults(long completedSteps) {
    for (int i = 0; i < faultDone.length; i++) {
      FaultSpec f = settings.faults().get(i);
      if (faultDone[i] || f.kind() == FaultSpec.Kind.DELAY_WORKER || completedSteps < f.step()) {
        continue;
      }
      faultDone[i] = true;
      switch (f.kind()) {
        case KILL_SERVER -> {
          job.display().onEvent("fault: kill -9 the parameter server after step " + completedSteps);
          server.kill();
        }
        case ADD_WORKER -> {
          job.display().onEvent("fault: a new worker joins after step " + completedSteps);
          startWorker();
        }
        case KILL_WORKER, RESTART_WORKER -> {
          Child w = f.worker() < workers.size() ? workers.get(f.worker()) : null;
          if (w == null || !w.process.isAlive()) {
            job.display().onEvent("fault: worker " + f.worker() + " is not running; nothing to kill");
            continue;
          }
          job.display().onEvent("fault: kill -9 worker " + f.worker() + " after step " + completedSteps
              + (f.kind() == FaultSpec.Kind.RESTART_WORKER ? " and start a replacement" : ""));
          if (f.kind() == FaultSpec.Kind.RESTART_WORKER) {
            replaceWhenGone.add(w);
          }
          w.kill();
        }
        default -> {}
      }
    }
  }

  private void startServer(boolean resume) throws IOException, InterruptedException {
    if (socket != null) {
      Files.deleteIfExists(socket); // left by a server killed with -9: the new one binds the same path
    }
    JobLaunch.StartedServer started = job.startServer(supervisor, "127.0.0.1", resume ? port : 0, settings.workers(), resume, socket);
    server = started.child();
    port = started.port();
  }

  private synchronized void startWorker() {
    int index = workers.size();
    List<String> cmd = new ArrayList<>(JvmCommand.thisProgram());
    cmd.addAll(job.workerCommand(socket != null ? "unix:" + socket : new HostPort("127.0.0.1", port).toString(), "worker-" + index));
    cmd.addAll(ParentPidOption.thisProcess());
    for (FaultSpec f : settings.faults()) {
      if (f.kind() == FaultSpec.Kind.DELAY_WORKER && f.worker() == index) {
        cmd.addAll(List.of("--push-delay-ms", Long.toString(f.millis())));
      }
    }
    Path log = job.logs().resolve("worker-" + index + ".log");
    Child w;
    try {
      w = supervisor.start("worker " + index, new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()), log);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start a worker: " + e.getMessage(), e);
    }
    workers.add(w);
    supervisor.onFailure(w, code -> workerFailed(w, code));
  }

  /** A worker failed: replace it, report it, or stop the job when none is left. */
  private synchronized void workerFailed(Child w, int code) {
    if (ending) {
      return;
    }
    try {
      if (w.killedOnPurpose) {
        if (replaceWhenGone.contains(w)) {
          startWorker();
        }
        return;
      }
      String reason = w.role + " exited with code " + code + ": " + w.lastWords();
      if (w.lastWords().contains(JOB_STOPPED)) {
        return; // the server ended the job: its exit code and reason end the launcher's
      }
      boolean permanent = ExitCode.of(code).map(ExitCode::isPermanent).orElse(false);
      if (!permanent && restarts < settings.maxRestarts()) {
        restarts++;
        job.display().onEvent(reason + "; starting a replacement (" + restarts + "/" + settings.maxRestarts() + ")");
        startWorker();
        return;
      }
      long alive = workers.stream().filter(c -> c.process.isAlive()).count();
      if (alive == 0) {
        failure = reason + "; no worker left";
        ending = true;
        supervisor.stopAll();
      } else {
        job.display().onEvent(reason + "; the job goes on with " + alive + " worker(s)");
      }
    } catch (UncheckedIOException e) {
      failure = "cannot start a replacement worker: " + e.getCause().getMessage();
      ending = true;
      supervisor.stopAll();
    }
  }

  private synchronized List<Child> workers() {
    return new ArrayList<>(workers);
  }
}
