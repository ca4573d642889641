package io.gradflow.cli;

import io.gradflow.cli.ProcessSupervisor.Child;
import io.gradflow.common.checkpoint.CheckpointStore;
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
 * dies of a signal is restarted on the same port from its newest checkpoint (from the first step
 * when it wrote none yet), and the workers reconnect: the restarted server resumes once the
 * workers running at its restart have joined (not the {@code --workers} of the start, some of
 * which may be gone for good). Below {@code --min-workers} with no replacement coming, the job
 * stops with the reason instead of waiting for good. {@code --fault} specs inject such failures
 * on purpose. Every child is stopped at the end and on Ctrl-C; children also watch this process
 * and exit when it is gone, so no JVM outlives the job. When the job's JVMs outnumber this host's
 * cores they compile the kernels blocking and use the serial collector ({@link
 * JvmCommand#thisProgram(boolean)}).
 */
final class LocalLauncher {
  /** How long workers get to end by themselves once the job has finished. */
  private static final Duration WORKER_EXIT = Duration.ofSeconds(30);

  /**
   * How many workers, how often a dead one is replaced, and the failures to inject.
   *
   * @param unixSocket whether the workers reach the server through a Unix domain socket (where this
   *     system has them) instead of loopback TCP
   * @param minWorkers the server's {@code --min-workers}: with fewer workers running and none to
   *     come, the job could only wait forever, so the launcher stops it with the reason
   */
  record Settings(int workers, int maxRestarts, List<FaultSpec> faults, boolean unixSocket, int minWorkers, int servers) {
    /** Settings with one server. */
    Settings(int workers, int maxRestarts, List<FaultSpec> faults, boolean unixSocket, int minWorkers) {
      this(workers, maxRestarts, faults, unixSocket, minWorkers, 1);
    }

    /** Settings with --min-workers 1. */
    Settings(int workers, int maxRestarts, List<FaultSpec> faults, boolean unixSocket) {
      this(workers, maxRestarts, faults, unixSocket, 1);
    }

    /** Settings with a Unix domain socket where the system has them and --min-workers 1. */
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
  /** Servers 1..S-1 of a job with sharded servers (--servers S), and their addresses for the others. */
  private final List<Child> followers = new ArrayList<>();
  private final List<String> followerAddresses = new ArrayList<>();
  /** Each follower's port (0 until it first served), so that a restarted follower listens where the workers dial. */
  private final List<Integer> followerPorts = new ArrayList<>();
  private Path socketDir;
  /** The server's Unix domain socket for the workers, or null: they use loopback TCP. */
  private Path socket;
  private int restarts;
  private volatile boolean ending;
  private volatile String failure;

  /**
   * What a worker says when the job stopped: the server stopped it (a failed save, weights that
   * became non-finite), or the worker did (a gradient out of range: the training diverged).
   */
  private static final String JOB_STOPPED = "the job stopped: ";

  LocalLauncher(JobLaunch job, Settings settings) {
    checkWorkers(settings.workers(), job.config());
    if (settings.minWorkers() > settings.workers()) {
      throw CommandFailure.usage("--min-workers " + settings.minWorkers() + " exceeds --workers " + settings.workers()
          + ": the job would wait for workers that never come");
    }
    // every JVM of the job runs on this host: the servers and the workers
    this.job = job.onCrowdedHost(JvmCommand.crowdsThisHost(settings.servers() + settings.workers()));
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
    socketDir = settings.unixSocket() && Transport.unixSocketsAvailable() ? Files.createTempDirectory("gradflow-") : null;
    socket = socketDir == null ? null : socketDir.resolve("server.sock");
    try (ProcessSupervisor s = new ProcessSupervisor("gradflow-launcher", Duration.ZERO)) {
      supervisor = s;
      List<JobLaunch.StartingServer> starting = startFollowers();
      startServer(false, false);
      awaitFollowers(starting);
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
        boolean rollBack = code == ExitCode.ROLL_BACK.code(); // asked for: a follower lost its state
        boolean restartable = server.killedOnPurpose || code >= 128 || rollBack;
        if (!restartable || (!server.killedOnPurpose && !rollBack && restarts >= settings.maxRestarts())) {
          throw new CommandFailure(ExitCode.ofChild(code),
              "parameter server exited with code " + code + ": " + server.lastWords());
        }
        if (!server.killedOnPurpose && !rollBack) {
          restarts++;
        }
        restartServer(code);
      }
      ending = true;
      List<Child> rest = workers();
      rest.addAll(followers);
      ProcessSupervisor.awaitExit(rest, WORKER_EXIT);
    } finally {
      ending = true;
      if (socketDir != null) {
        Files.deleteIfExists(socket);
        for (int i = 1; i < settings.servers(); i++) {
          Files.deleteIfExists(socketDir.resolve("server-" + i + ".sock"));
        }
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
          if (f.worker() > 0) {
            if (f.worker() >= settings.servers()) {
              job.display().onEvent("fault: there is no server " + f.worker() + " (--servers " + settings.servers() + "); nothing to kill");
              continue;
            }
            job.display().onEvent("fault: kill -9 server " + f.worker() + " after step " + completedSteps);
            followers.get(f.worker() - 1).kill();
          } else {
            job.display().onEvent("fault: kill -9 the parameter server after step " + completedSteps);
            server.kill();
          }
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

  /**
   * Starts a new server on the same port after the last one exited with {@code code}: from its
   * newest checkpoint, or from the first step when it died before writing one (same weights
   * either way: the steps it did are done again).
   */
  private void restartServer(int code) throws IOException, InterruptedException {
    boolean fromCheckpoint = !new CheckpointStore(job.out().resolve("checkpoints"), 1, w -> {}).list().isEmpty();
    job.display().onEvent((settings.servers() > 1 ? "the coordinator" : "parameter server") + " exited with code " + code
        + (code == ExitCode.ROLL_BACK.code() ? " (a follower lost its state)" : "") + "; restarting it from "
        + (fromCheckpoint ? "its newest checkpoint" : "the first step (it wrote no checkpoint yet)")
        + (settings.servers() > 1 ? "; it seeds the followers" : ""));
    startServer(true, fromCheckpoint);
  }

  /**
   * A job with sharded servers: starts servers 1..S-1, the followers, each on a free port (and its
   * own Unix domain socket next to the coordinator's), before the coordinator, which reads them.
   * With Unix domain sockets their addresses are known at once and the coordinator starts while
   * they do: the followers still starting are returned for {@link #awaitFollowers}. Over TCP this
   * waits for their ports (the coordinator and the workers need them) and returns none.
   */
  private List<JobLaunch.StartingServer> startFollowers() throws IOException, InterruptedException {
    List<JobLaunch.StartingServer> starting = new ArrayList<>();
    for (int i = 1; i < settings.servers(); i++) { // all at once: a JVM takes a while to start
      starting.add(beginFollower(i));
    }
    synchronized (this) {
      followers.clear();
      for (JobLaunch.StartingServer s : starting) {
        Child f = s.child();
        followers.add(f);
        supervisor.onFailure(f, code -> followerFailed(f, code));
      }
    }
    if (socketDir != null) {
      if (followerAddresses.isEmpty()) {
        for (int i = 1; i < settings.servers(); i++) {
          followerAddresses.add("unix:" + socketDir.resolve("server-" + i + ".sock"));
        }
      }
      return starting;
    }
    awaitFollowers(starting);
    return List.of();
  }

  /**
   * Starts follower {@code i} with the same arguments every time, on its port (0 the first time)
   * and its Unix domain socket: it starts empty, and the coordinator seeds it.
   */
  private JobLaunch.StartingServer beginFollower(int i) throws IOException {
    Path followerSocket = socketDir == null ? null : socketDir.resolve("server-" + i + ".sock");
    if (followerSocket != null) {
      Files.deleteIfExists(followerSocket); // left by a follower killed with -9
    }
    int port = followerPorts.size() >= i ? followerPorts.get(i - 1) : 0;
    return job.beginServer(supervisor, "127.0.0.1", port, 1, false, followerSocket, i,
        List.of("--servers", Integer.toString(settings.servers()), "--server-index", Integer.toString(i)));
  }

  /** Waits until the followers {@code starting} (server 1 first) serve; one that exits first ends the job. */
  private void awaitFollowers(List<JobLaunch.StartingServer> starting) throws IOException, InterruptedException {
    for (int i = 1; i <= starting.size(); i++) {
      JobLaunch.StartedServer started = starting.get(i - 1).awaitPort(supervisor);
      if (followerPorts.size() < i) {
        followerPorts.add(started.port());
        if (socketDir == null) {
          followerAddresses.add(new HostPort("127.0.0.1", started.port()).toString());
        }
      }
    }
  }

  /**
   * A follower died. Killed on purpose or by a signal (within --max-restarts): it alone is started
   * again, with the same arguments; it comes back empty, the coordinator finds it so and rolls the
   * job back to its newest checkpoint (it exits with {@link ExitCode#ROLL_BACK} and the main loop
   * restarts it), seeding every follower. Otherwise the job cannot go on without its range.
   */
  private synchronized void followerFailed(Child f, int code) {
    if (ending) {
      return;
    }
    boolean restartable = f.killedOnPurpose || code >= 128;
    if (!restartable || (!f.killedOnPurpose && restarts >= settings.maxRestarts())) {
      failure = f.role + " exited with code " + code + ": " + f.lastWords();
      ending = true;
      supervisor.stopAll();
      return;
    }
    if (!f.killedOnPurpose) {
      restarts++;
    }
    int i = followers.indexOf(f) + 1;
    job.display().onEvent(f.role + " exited with code " + code + "; restarting it alone (the coordinator seeds it)");
    try {
      Child again = beginFollower(i).child();
      followers.set(i - 1, again);
      supervisor.onFailure(again, c -> followerFailed(again, c));
    } catch (IOException e) {
      failure = "cannot restart " + f.role + ": " + e.getMessage();
      ending = true;
      supervisor.stopAll();
    }
  }

  /** The arguments that make a server the coordinator of the followers, or none with one server. */
  private List<String> coordinatorArgs() {
    if (settings.servers() <= 1) {
      return List.of();
    }
    List<String> args = new ArrayList<>(List.of("--servers", Integer.toString(settings.servers()), "--server-index", "0"));
    for (String a : followerAddresses) {
      args.addAll(List.of("--range-server", a));
    }
    return args;
  }

  private void startServer(boolean restart, boolean resume) throws IOException, InterruptedException {
    if (socket != null) {
      Files.deleteIfExists(socket); // left by a server killed with -9: the new one binds the same path
    }
    int waitFor = restart ? workersToResumeWith() : settings.workers();
    JobLaunch.StartedServer started = job.startServer(supervisor, "127.0.0.1", restart ? port : 0, waitFor, resume, socket, 0,
        coordinatorArgs());
    server = started.child();
    port = started.port();
  }

  /**
   * How many workers a restarted server waits for before it resumes: the workers running now (at
   * least one, at most one per micro-shard). Workers killed on purpose or lost for good are not
   * waited for; a replacement or a late joiner that comes later joins the resumed job.
   */
  private synchronized int workersToResumeWith() {
    long running = workers.stream().filter(c -> c.process.isAlive() && !c.killedOnPurpose).count();
    return (int) Math.max(1, Math.min(running, job.config().microShards()));
  }

  private synchronized void startWorker() {
    int index = workers.size();
    List<String> cmd = new ArrayList<>(JvmCommand.thisProgram(job.crowdedHost()));
    cmd.addAll(job.workerCommand(socket != null ? "unix:" + socket : new HostPort("127.0.0.1", port).toString(), "worker-" + index));
    cmd.addAll(ParentPidOption.thisProcess());
    for (String a : followerAddresses) {
      cmd.addAll(List.of("--range-server", a));
    }
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
    if (code == ExitCode.JOB_OVER.code()) {
      return; // it came after the job had finished: nothing to replace
    }
    try {
      if (w.killedOnPurpose) {
        if (replaceWhenGone.contains(w)) {
          startWorker();
        } else {
          stopBelowMinWorkers(w.role + " was killed on purpose (--fault kill-worker) and is not replaced");
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
      } else if (!stopBelowMinWorkers(reason)) {
        job.display().onEvent(reason + "; the job goes on with " + alive + " worker(s)");
      }
    } catch (UncheckedIOException e) {
      failure = "cannot start a replacement worker: " + e.getCause().getMessage();
      ending = true;
      supervisor.stopAll();
    }
  }

  /**
   * Stops the job when fewer than {@code --min-workers} workers run and no replacement is coming
   * (the job would pause for good: nothing else starts workers here); returns whether it did.
   */
  private boolean stopBelowMinWorkers(String why) {
    long running = workers.stream().filter(c -> c.process.isAlive() && !c.killedOnPurpose).count();
    if (running >= settings.minWorkers()) {
      return false;
    }
    failure = why + "; " + running + " worker(s) left, below --min-workers " + settings.minWorkers()
        + ", and no replacement comes: the job could only wait";
    ending = true;
    supervisor.stopAll();
    return true;
  }

  private synchronized List<Child> workers() {
    return new ArrayList<>(workers);
  }
}
