package io.gradflow.cli;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.train.TrainingConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code gradflow train --hosts FILE}: the parameter server on this machine, workers on the hosts
 * of a host list, started with the system {@code ssh} (BatchMode, so keys or an agent must be set
 * up). Each remote worker's output comes back over its ssh connection and is shown with a {@code
 * host/slot:} prefix and kept in {@code OUT/logs/}.
 *
 * <p>The remote command runs the jar at the same path as here (a shared filesystem), or {@code
 * --remote-jar}. It runs the worker in the background and kills it as soon as its ssh connection's
 * standard input ends, so a remote worker dies with the connection: when the job ends, when this
 * process is stopped (Ctrl-C) or killed, or when the network goes away.
 */
final class SshLauncher {
  private static final long PORT_WAIT_MILLIS = 180_000;
  private static final long WORKER_EXIT_MILLIS = 30_000;
  private static final Pattern HOST = Pattern.compile("[A-Za-z0-9._%@-]+");

  /**
   * Runs {@code "$@"} in the background with stdin from /dev/null, and kills it when this shell's
   * stdin (the ssh channel) reaches end of file; exits with its exit code. The reader is a shell
   * builtin, so killing the watcher leaves nothing behind holding the channel open.
   */
  static final String REMOTE_WRAPPER =
      "exec 3<&0 </dev/null; \"$@\" & pid=$!; "
          + "(while read -r _ <&3; do :; done; kill $pid 2>/dev/null) & w=$!; exec 3<&-; "
          + "wait $pid; rc=$?; kill $w 2>/dev/null; exit $rc";

  /** The options of {@code gradflow train} that select and configure this launcher. */
  static final class Options {
    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    @Option(
        names = "--hosts",
        paramLabel = "FILE",
        description = "Run the workers over ssh on the hosts listed in FILE, one 'host[:slots]' a line (# comments); "
            + "slots workers per host (default 1). The server runs here.")
    Path hosts;

    @Option(
        names = "--ssh-opt",
        paramLabel = "OPTION",
        description = "With --hosts: an ssh -o option, repeatable, e.g. --ssh-opt Port=2222 --ssh-opt IdentityFile=~/.ssh/id_gradflow "
            + "(always set: BatchMode=yes, StrictHostKeyChecking=accept-new, unless given here).")
    List<String> sshOpts = new ArrayList<>();

    @Option(names = "--remote-java", paramLabel = "PATH", description = "With --hosts: java 17+ on the hosts (default: ${DEFAULT-VALUE}, from the remote PATH).")
    String remoteJava = "java";

    @Option(
        names = "--remote-jar",
        paramLabel = "PATH",
        description = "With --hosts: the gradflow jar on the hosts (default: this jar's path, as on a shared filesystem).")
    String remoteJar;

    @Option(
        names = "--server-host",
        paramLabel = "HOST",
        description = "With --hosts: the address of this machine that the hosts dial (default: its host name).")
    String serverHost;

    @Option(names = "--server-port", paramLabel = "P", description = "With --hosts: the server's port (default: 0, a free one).")
    int serverPort = 0;

    /**
     * Parses the host list, checks it against the other options and runs the job; returns normally
     * when it succeeded, throws {@link CommandFailure} otherwise.
     */
    void launch(JobOptions job, ModelSpec spec, Path out, ProgressDisplay display,
        List<String> serverExtraArgs, List<String> workerExtraArgs) throws IOException, InterruptedException {
      List<Host> list;
      try {
        list = parseHosts(hosts, Files.readAllLines(hosts, StandardCharsets.UTF_8));
      } catch (NoSuchFileException e) {
        throw new ParameterException(mixee.commandLine(), "--hosts " + hosts + ": no such file");
      } catch (IllegalArgumentException e) {
        throw new ParameterException(mixee.commandLine(), e.getMessage());
      }
      int workers = list.stream().mapToInt(Host::slots).sum();
      if (mixee.commandLine().getParseResult().hasMatchedOption("--workers")) {
        int given = mixee.findOption("--workers").getValue();
        if (given != workers) {
          throw new ParameterException(mixee.commandLine(),
              "--workers " + given + " disagrees with " + hosts + ", which has " + workers + " slot(s)");
        }
      }
      TrainingConfig config = job.trainingConfig();
      if (workers > config.microShards()) {
        throw new ParameterException(mixee.commandLine(), hosts + " has " + workers
            + " slots, more than --micro-shards " + config.microShards() + ": raise --micro-shards to at least the slot count");
      }
      for (String o : sshOpts) {
        if (!o.contains("=") || o.startsWith("-")) {
          throw new ParameterException(mixee.commandLine(), "--ssh-opt '" + o + "': expected an ssh option as KEY=VALUE, e.g. Port=2222");
        }
      }
      String jar = remoteJar != null ? remoteJar : SubmitCommand.runningJar().map(Path::toString).orElseThrow(() ->
          new ParameterException(mixee.commandLine(), "--remote-jar is required when gradflow does not run from its jar"));
      String host = serverHost != null ? serverHost : localHostName();
      new SshLauncher(job, spec, config, list, out, host, serverPort, sshOpts, remoteJava, jar,
          serverExtraArgs, workerExtraArgs, display, mixee.commandLine().getErr()).run();
    }
  }

  /** One line of a host list: ssh destination ({@code [user@]host}) and worker slots. */
  record Host(String name, int slots) {}

  /** Parses a host list; a malformed line is an {@link IllegalArgumentException} naming file:line. */
  static List<Host> parseHosts(Path file, List<String> lines) {
    List<Host> hosts = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String where = file + ":" + (i + 1) + ": ";
      String line = lines.get(i);
      int hash = line.indexOf('#');
      if (hash >= 0) {
        line = line.substring(0, hash);
      }
      line = line.strip();
      if (line.isEmpty()) {
        continue;
      }
      if (line.chars().anyMatch(Character::isWhitespace)) {
        throw new IllegalArgumentException(where + "expected 'host[:slots]', got '" + line + "'");
      }
      String name;
      String slots = null;
      if (line.contains("[")) {
        int open = line.indexOf('[');
        int close = line.indexOf(']');
        if (close < open) {
          throw new IllegalArgumentException(where + "unclosed '[' in '" + line + "'");
        }
        String user = line.substring(0, open);
        String address = line.substring(open + 1, close);
        if (!(user.isEmpty() || user.matches("[A-Za-z0-9._-]+@")) || !address.matches("[0-9A-Za-z:.%]+")) {
          throw new IllegalArgumentException(where + "bad address in '" + line + "'");
        }
        name = user + address;
        String rest = line.substring(close + 1);
        if (!rest.isEmpty()) {
          if (!rest.startsWith(":")) {
            throw new IllegalArgumentException(where + "expected ':slots' after ']', got '" + rest + "'");
          }
          slots = rest.substring(1);
        }
      } else {
        int colon = line.indexOf(':');
        if (colon >= 0 && line.indexOf(':', colon + 1) >= 0) {
          throw new IllegalArgumentException(where + "write IPv6 addresses in brackets, e.g. [::1]:2; got '" + line + "'");
        }
        name = colon < 0 ? line : line.substring(0, colon);
        slots = colon < 0 ? null : line.substring(colon + 1);
        if (name.isEmpty() || name.startsWith("-") || !HOST.matcher(name).matches()) {
          throw new IllegalArgumentException(where + "bad host name '" + name + "'");
        }
      }
      int n = 1;
      if (slots != null) {
        try {
          n = Integer.parseInt(slots);
        } catch (NumberFormatException e) {
          n = 0;
        }
        if (n < 1) {
          throw new IllegalArgumentException(where + "slots must be a positive integer, got '" + slots + "'");
        }
      }
      hosts.add(new Host(name, n));
    }
    if (hosts.isEmpty()) {
      throw new IllegalArgumentException(file + ": no hosts (expected lines 'host[:slots]')");
    }
    return hosts;
  }

  private final JobOptions job;
  private final ModelSpec spec;
  private final TrainingConfig config;
  private final List<Host> hosts;
  private final Path out;
  private final String serverHost;
  private final int serverPort;
  private final List<String> sshOpts;
  private final String remoteJava;
  private final String remoteJar;
  private final List<String> serverExtraArgs;
  private final List<String> workerExtraArgs;
  private final ProgressDisplay display;
  private final PrintWriter err;
  private final List<Process> children = new ArrayList<>();
  private final List<Thread> pumps = new ArrayList<>();
  private volatile boolean stopping;
  private volatile String failure;

  SshLauncher(JobOptions job, ModelSpec spec, TrainingConfig config, List<Host> hosts, Path out, String serverHost,
      int serverPort, List<String> sshOpts, String remoteJava, String remoteJar, List<String> serverExtraArgs,
      List<String> workerExtraArgs, ProgressDisplay display, PrintWriter err) {
    this.job = job;
    this.spec = spec;
    this.config = config;
    this.hosts = hosts;
    this.out = out;
    this.serverHost = serverHost;
    this.serverPort = serverPort;
    this.sshOpts = sshOpts;
    this.remoteJava = remoteJava;
    this.remoteJar = remoteJar;
    this.serverExtraArgs = serverExtraArgs;
    this.workerExtraArgs = workerExtraArgs;
    this.display = display;
    this.err = err;
  }

  void run() throws IOException, InterruptedException {
    Path logs = out.resolve("logs");
    Files.createDirectories(logs);
    Path portFile = logs.resolve("server.port");
    Files.deleteIfExists(portFile);
    Path serverLog = logs.resolve("server.log");
    int workers = hosts.stream().mapToInt(Host::slots).sum();
    Thread cleanup = new Thread(this::destroyAll, "gradflow-ssh-cleanup");
    Runtime.getRuntime().addShutdownHook(cleanup);
    try {
      List<String> serverCmd = new ArrayList<>(LocalLauncher.javaCommand());
      serverCmd.addAll(List.of(
          "server", "--port", Integer.toString(serverPort), "--bind", "0.0.0.0", "--port-file", portFile.toString(),
          "--workers", Integer.toString(workers), "--out", out.toString(), "--events",
          "--parent-pid", Long.toString(ProcessHandle.current().pid())));
      serverCmd.addAll(job.toArgs());
      serverCmd.addAll(serverExtraArgs);
      ProcessBuilder pb = new ProcessBuilder(serverCmd).redirectError(serverLog.toFile());
      pb.environment().put("GRADFLOW_PROGRESS", "plain");
      Process server = track(pb.start());
      int port = awaitPort(server, portFile, serverLog);
      display.onEvent("parameter server on " + serverHost + ":" + port + "; starting " + workers
          + " worker(s) over ssh on " + hosts.size() + " host(s)");
      int rank = 0;
      for (Host h : hosts) {
        for (int slot = 0; slot < h.slots(); slot++) {
          startWorker(h, slot, rank++, port, logs);
        }
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
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WORKER_EXIT_MILLIS);
      for (Process p : snapshot()) {
        p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      }
      stopping = true;
      if (failure != null) {
        throw new CommandFailure(ExitCode.FAILED, failure);
      }
      if (serverCode != 0 || !events.finished()) {
        throw new CommandFailure(ExitCode.FAILED,
            "parameter server exited with code " + serverCode + ": " + LocalLauncher.lastLine(serverLog));
      }
    } finally {
      destroyAll();
      for (Thread t : pumps) {
        t.join(5_000);
      }
      try {
        Runtime.getRuntime().removeShutdownHook(cleanup);
      } catch (IllegalStateException e) {
        // shutting down already: the hook runs
      }
    }
  }

  /** The ssh command line that runs one worker on {@code host}. */
  List<String> sshCommand(Host host, String name, int port) {
    List<String> cmd = new ArrayList<>(List.of("ssh"));
    for (String o : sshOpts) {
      cmd.addAll(List.of("-o", o));
    }
    cmd.addAll(List.of("-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new", host.name()));
    List<String> remote = new ArrayList<>(List.of("sh", "-c", REMOTE_WRAPPER, "gradflow-worker",
        remoteJava, "--add-modules", "jdk.incubator.vector", "-jar", remoteJar,
        "worker", "--server", hostPort(serverHost, port), "--name", name));
    remote.addAll(job.toArgs());
    remote.addAll(workerExtraArgs);
    // ssh hands one string to the remote login shell: quote every word for it.
    cmd.add(SubmitCommand.shellWords(remote));
    return cmd;
  }

  private void startWorker(Host host, int slot, int rank, int port, Path logs) throws IOException {
    String shortName = host.name().substring(host.name().indexOf('@') + 1);
    String name = shortName + "/" + slot;
    Path log = logs.resolve("worker-" + rank + "-" + shortName.replaceAll("[^A-Za-z0-9._-]", "_") + ".log");
    Process p = track(new ProcessBuilder(sshCommand(host, name, port)).redirectErrorStream(true).start());
    String[] last = {"(no output)"};
    Thread pump = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
          Writer w = Files.newBufferedWriter(log, StandardCharsets.UTF_8)) {
        String line;
        while ((line = r.readLine()) != null) {
          w.write(line);
          w.write('\n');
          w.flush();
          if (!line.isBlank()) {
            last[0] = line.trim();
          }
          synchronized (err) {
            err.println(name + ": " + line);
            err.flush();
          }
        }
      } catch (IOException e) {
        // the connection went away; the exit code tells
      }
    }, "gradflow-ssh-" + name);
    pump.setDaemon(true);
    pump.start();
    pumps.add(pump);
    p.onExit().thenAccept(done -> {
      int code = done.exitValue();
      if (code != 0 && !stopping && failure == null) {
        try {
          pump.join(2_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        failure = code == 255
            ? "ssh to " + host.name() + " failed: " + last[0]
            : "worker " + name + " exited with code " + code + ": " + last[0];
        destroyAll();
      }
    });
  }

  private Process track(Process p) {
    synchronized (children) {
      children.add(p);
    }
    return p;
  }

  private List<Process> snapshot() {
    synchronized (children) {
      return new ArrayList<>(children);
    }
  }

  private int awaitPort(Process server, Path portFile, Path serverLog) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PORT_WAIT_MILLIS);
    while (System.nanoTime() < deadline) {
      if (Files.exists(portFile)) {
        return Integer.parseInt(Files.readString(portFile).trim());
      }
      if (!server.isAlive()) {
        throw new CommandFailure(
            server.exitValue() == ExitCode.DATA.code() ? ExitCode.DATA : ExitCode.FAILED,
            "parameter server exited with code " + server.exitValue() + " before serving: " + LocalLauncher.lastLine(serverLog));
      }
      Thread.sleep(50);
    }
    throw new CommandFailure(ExitCode.FAILED, "parameter server did not start serving within " + PORT_WAIT_MILLIS / 1000 + " s");
  }

  /**
   * Stops everything: closing an ssh's stdin ends the remote worker (its wrapper kills it on end
   * of file), then the ssh and server processes are terminated.
   */
  private void destroyAll() {
    stopping = true;
    List<Process> all = snapshot();
    for (Process p : all) {
      try {
        p.getOutputStream().close();
      } catch (IOException e) {
        // already closed
      }
    }
    try {
      awaitAll(all, 2);
      for (Process p : all) {
        p.destroy();
      }
      awaitAll(all, 5);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (Process p : all) {
      p.destroyForcibly();
    }
  }

  private static void awaitAll(List<Process> all, long seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    for (Process p : all) {
      p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    }
  }

  static String hostPort(String host, int port) {
    return (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
  }

  private static String localHostName() {
    try {
      return InetAddress.getLocalHost().getCanonicalHostName();
    } catch (UnknownHostException e) {
      throw new UncheckedIOException("cannot find this machine's host name (give --server-host): " + e.getMessage(), e);
    }
  }
}
