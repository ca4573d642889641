package io.gradflow.cli;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.train.TrainingConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What a launcher starts: the job (model spec and hyper-parameters, the data directory when there
 * is one), where its files go, where its progress is shown, and the extra arguments of its server
 * and of each worker. Builds the command lines of both, so the local and the ssh launcher start
 * the same server and the same workers.
 */
record JobLaunch(ModelSpec spec, TrainingConfig config, Path dataDir, Path out, ProgressDisplay display,
    List<String> serverArgs, List<String> workerArgs, boolean crowdedHost) {

  /** A launch whose JVMs run with the usual flags (not those of a crowded host). */
  JobLaunch(ModelSpec spec, TrainingConfig config, Path dataDir, Path out, ProgressDisplay display,
      List<String> serverArgs, List<String> workerArgs) {
    this(spec, config, dataDir, out, display, serverArgs, workerArgs, false);
  }

  /** This launch, its JVMs sharing a host with fewer cores than JVMs or not ({@link JvmCommand#thisProgram(boolean)}). */
  JobLaunch onCrowdedHost(boolean crowded) {
    return new JobLaunch(spec, config, dataDir, out, display, serverArgs, workerArgs, crowded);
  }

  /** A server started by a launcher, and the port it listens on. */
  record StartedServer(ProcessSupervisor.Child child, int port) {}

  /** The directory of the children's logs and the server's port file. */
  Path logs() {
    Path logs = out.resolve("logs");
    try {
      Files.createDirectories(logs);
    } catch (IOException e) {
      throw OutputPaths.cannotWrite("--out", logs, e);
    }
    return logs;
  }

  /**
   * Starts {@code gradflow server} under {@code supervisor}, listening on {@code bind:port} (0: a
   * free port) for {@code workers} workers, its events on stdout and its log in {@code
   * logs/server.log}; with {@code resume}, from the newest checkpoint in {@code out}, appending to
   * the log. Returns once it serves.
   */
  StartedServer startServer(ProcessSupervisor supervisor, String bind, int port, int workers, boolean resume)
      throws IOException, InterruptedException {
    return startServer(supervisor, bind, port, workers, resume, null);
  }

  /** As {@link #startServer(ProcessSupervisor, String, int, int, boolean)}, also listening on the Unix domain socket {@code socket} when not null. */
  StartedServer startServer(ProcessSupervisor supervisor, String bind, int port, int workers, boolean resume, Path socket)
      throws IOException, InterruptedException {
    return startServer(supervisor, bind, port, workers, resume, socket, 0, List.of());
  }

  /**
   * As {@link #startServer(ProcessSupervisor, String, int, int, boolean, Path)} for server {@code
   * index} of a job with sharded servers, with {@code shardArgs} ({@code --servers}, {@code
   * --server-index}, {@code --range-server}) added. Server 0 is the coordinator, whose events the
   * launcher reads (log {@code logs/server.log}); a follower's output all goes to {@code
   * logs/server-I.log}.
   */
  StartedServer startServer(ProcessSupervisor supervisor, String bind, int port, int workers, boolean resume, Path socket,
      int index, List<String> shardArgs) throws IOException, InterruptedException {
    StartedServer started = beginServer(supervisor, bind, port, workers, resume, socket, index, shardArgs).awaitPort(supervisor);
    if (index == 0) {
      metricsAddress(started.child().log).ifPresent(display::onEvent);
    }
    return started;
  }

  /**
   * Where the server whose log is {@code log} serves its Prometheus metrics ({@code --metrics-port}):
   * "metrics on http://HOST:PORT/metrics", as it said before it began to serve; empty without the
   * option. The launcher shows it with the job's events: the server's log is not on the console.
   */
  static java.util.Optional<String> metricsAddress(Path log) throws IOException {
    String said = "metrics on http://";
    try (var lines = Files.lines(log)) {
      return lines.filter(l -> l.contains(said)).reduce((first, second) -> second).map(l -> l.substring(l.indexOf(said)));
    }
  }

  /** A server process started, whose port is not known yet. */
  record StartingServer(ProcessSupervisor.Child child, Path portFile) {
    /** Waits until it serves; returns it with its port. */
    StartedServer awaitPort(ProcessSupervisor supervisor) throws IOException, InterruptedException {
      return new StartedServer(child, supervisor.awaitPort(child, portFile));
    }
  }

  /** As {@link #startServer(ProcessSupervisor, String, int, int, boolean, Path, int, List)}, without waiting for it to serve. */
  StartingServer beginServer(ProcessSupervisor supervisor, String bind, int port, int workers, boolean resume, Path socket,
      int index, List<String> shardArgs) throws IOException {
    Files.createDirectories(logs());
    String name = index == 0 ? "server" : "server-" + index;
    Path portFile = logs().resolve(name + ".port");
    Files.deleteIfExists(portFile);
    List<String> cmd = new ArrayList<>(JvmCommand.thisProgram(crowdedHost));
    cmd.addAll(List.of("server", "--port", Integer.toString(port), "--bind", bind, "--port-file", portFile.toString(),
        "--workers", Integer.toString(workers), "--out", out.toString(), "--events",
        "--linger-seconds", "0")); // the launcher stops its own workers: nobody comes late
    cmd.addAll(ParentPidOption.thisProcess());
    cmd.addAll(JobOptions.argsFor(spec, config, dataDir));
    cmd.addAll(serverArgs);
    cmd.addAll(shardArgs);
    if (socket != null) {
      cmd.addAll(List.of("--unix-socket", socket.toString()));
    }
    if (resume) {
      cmd.addAll(List.of("--resume", out.toString()));
    }
    Path log = logs().resolve(name + ".log");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(
        resume ? ProcessBuilder.Redirect.appendTo(log.toFile()) : ProcessBuilder.Redirect.to(log.toFile()));
    if (index > 0) {
      pb.redirectErrorStream(true).redirectOutput(resume ? ProcessBuilder.Redirect.appendTo(log.toFile()) : ProcessBuilder.Redirect.to(log.toFile()));
    }
    ProcessSupervisor.Child server = supervisor.start(index == 0 ? "parameter server" : "server " + index, pb, log);
    return new StartingServer(server, portFile);
  }

  /** The gradflow arguments of a worker named {@code name} that joins the server at {@code server}. */
  List<String> workerCommand(HostPort server, String name) {
    return workerCommand(server.toString(), name);
  }

  /** As {@link #workerCommand(HostPort, String)} for a server address as {@code worker --server} takes it (HOST:PORT or unix:PATH). */
  List<String> workerCommand(String server, String name) {
    List<String> args = new ArrayList<>(List.of("worker", "--server", server, "--name", name));
    args.addAll(JobOptions.argsFor(spec, config, dataDir));
    args.addAll(workerArgs);
    return args;
  }

  /** A reader of the server's event lines that shows them on {@link #display}. */
  EventStream.Reader events() {
    return new EventStream.Reader(display, spec, config);
  }
}
