package io.gradflow.cli;

import io.gradflow.cli.HostList.Host;
import io.gradflow.cli.ProcessSupervisor.Child;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code gradflow train --hosts FILE}: the parameter server on this machine, workers on the hosts
 * of a host list, started with the system {@code ssh} (BatchMode, so keys or an agent must be set
 * up). Each remote worker's output comes back over its ssh connection and is shown with a {@code
 * host/slot:} prefix and kept in {@code OUT/logs/}.
 *
 * <p>With sharded servers ({@code --servers S}) the server here is server 0, the coordinator, which
 * writes the outputs; servers 1..S-1, the followers, run over ssh on the first S-1 hosts of the
 * list, one slot each ({@link Placement}), and the workers on the slots left. The launcher learns
 * each follower's port from the line it logs when it listens, then starts the coordinator and the
 * workers with their addresses ({@code --range-server}).
 *
 * <p>The remote command runs the jar at the same path as here (a shared filesystem), or {@code
 * --remote-jar}. It runs the worker in the background and kills it as soon as its ssh connection's
 * standard input ends, so a remote worker dies with the connection: when the job ends, when this
 * process is stopped (Ctrl-C) or killed, or when the network goes away.
 */
final class SshLauncher {
  /** How long workers get to end by themselves once the server has. */
  private static final Duration WORKER_EXIT = Duration.ofSeconds(30);

  /** How long a remote worker gets to end once its ssh connection's stdin is closed. */
  private static final Duration STDIN_GRACE = Duration.ofSeconds(2);

  /**
   * Runs {@code "$@"} in the background with stdin from /dev/null, and kills it when this shell's
   * stdin (the ssh channel) reaches end of file; exits with its exit code. The reader is a shell
   * builtin, so killing the watcher leaves nothing behind holding the channel open.
   */
  static final String REMOTE_WRAPPER = remoteWrapper("");

  /** What stands for the remote directory of a job's TLS files in a secure remote command's arguments. */
  static final String SECURE_DIR = "@gradflow-secure@";

  /** The line that ends each file sent to a secure remote command. */
  static final String FILE_END = "--gradflow-file-end--";

  /** The names the files sent to a secure remote command get there, in the order they are sent. */
  static final List<String> SECURE_FILES = List.of("ca.pem", "cert.pem", "key.pem", "token");

  /**
   * The TLS and token flags of a secure remote command, a follower's or a worker's: the same four
   * flags name the CA (a server's mutual-TLS CA, a worker's trusted one), its own certificate and
   * key, and the token.
   */
  private static final List<String> SECURE_ARGS = List.of("--tls-ca", SECURE_DIR + "/ca.pem", "--tls-cert", SECURE_DIR + "/cert.pem",
      "--tls-key", SECURE_DIR + "/key.pem", "--token-file", SECURE_DIR + "/token");

  /**
   * {@link #REMOTE_WRAPPER} for a job with TLS and a token ({@code train --hosts --secure}): first
   * reads the four files of {@link #SECURE_FILES} from stdin (each up to a {@link #FILE_END} line)
   * into a fresh 0700 directory, puts that directory in place of {@link #SECURE_DIR} in the
   * arguments, and removes the directory once the command has ended. The files never appear on a
   * command line; the same stdin then keeps the command alive.
   */
  static final String SECURE_REMOTE_WRAPPER =
      "umask 077; d=$(mktemp -d \"${TMPDIR:-/tmp}/gradflow-secure.XXXXXX\") || exit 8; "
          + "for f in " + String.join(" ", SECURE_FILES) + "; do "
          + "while IFS= read -r l && [ \"$l\" != " + FILE_END + " ]; do printf '%s\\n' \"$l\"; done >\"$d/$f\"; done; "
          + "n=$#; while [ \"$n\" -gt 0 ]; do a=$1; shift; "
          + "case $a in " + SECURE_DIR + "/*) a=$d/${a#" + SECURE_DIR + "/};; esac; set -- \"$@\" \"$a\"; n=$((n - 1)); done; "
          + remoteWrapper("rm -rf \"$d\"; ");

  /** The wrapper that runs {@code "$@"} until stdin ends, running {@code cleanup} before it exits. */
  private static String remoteWrapper(String cleanup) {
    return "exec 3<&0 </dev/null; \"$@\" & pid=$!; "
        + "(while read -r _ <&3; do :; done; kill $pid 2>/dev/null) & w=$!; exec 3<&-; "
        + "wait $pid; rc=$?; kill $w 2>/dev/null; " + cleanup + "exit $rc";
  }

  /** The line a follower logs once it listens ({@code FollowerRun}), with its port. */
  private static final Pattern FOLLOWER_LISTENING = Pattern.compile("server \\d+ \\(a follower\\) listening on \\S+:(\\d+)");

  /**
   * Where the workers run and how they are reached: the hosts, the address they dial for the
   * server here, ssh's {@code -o} options, java and the jar on the hosts; {@code err} shows their
   * output; {@code servers} the job's parameter servers S (1: only the one here).
   */
  record Settings(List<Host> hosts, String serverHost, int serverPort, List<String> sshOpts, String remoteJava,
      String remoteJar, PrintWriter err, int servers) {
    /** Settings with one server. */
    Settings(List<Host> hosts, String serverHost, int serverPort, List<String> sshOpts, String remoteJava,
        String remoteJar, PrintWriter err) {
      this(hosts, serverHost, serverPort, sshOpts, remoteJava, remoteJar, err, 1);
    }
  }

  /** One slot of a host: a worker, or with sharded servers a follower. */
  record Slot(Host host, int slot) {}

  /**
   * Where a job's processes go: server i (i = 1..S-1) on the first slot of the host list's i-th
   * line, a worker on every other slot. The coordinator, server 0, runs here.
   */
  record Placement(List<Slot> followers, List<Slot> workers) {
    /** The placement of {@code servers} servers on {@code hosts}; too few lines or slots is an {@link IllegalArgumentException}. */
    static Placement of(List<Host> hosts, int servers) {
      if (servers - 1 > hosts.size()) {
        throw new IllegalArgumentException("--servers " + servers + " runs servers 1.." + (servers - 1)
            + " on the first " + (servers - 1) + " hosts of the list, which has " + hosts.size());
      }
      List<Slot> followers = new ArrayList<>();
      List<Slot> workers = new ArrayList<>();
      for (int i = 0; i < hosts.size(); i++) {
        Host h = hosts.get(i);
        for (int slot = 0; slot < h.slots(); slot++) {
          (slot == 0 && i < servers - 1 ? followers : workers).add(new Slot(h, slot));
        }
      }
      if (workers.isEmpty()) {
        throw new IllegalArgumentException("--servers " + servers + " takes " + (servers - 1)
            + " slot(s) of the host list for servers 1.." + (servers - 1) + " and leaves none for a worker");
      }
      return new Placement(followers, workers);
    }
  }

  private final JobLaunch job;
  private final Settings settings;
  private final List<Thread> pumps = new ArrayList<>();
  private SecureJobFiles secure;
  private ProcessSupervisor supervisor;
  private volatile String failure;

  SshLauncher(JobLaunch job, Settings settings) {
    this.job = job;
    this.settings = settings;
  }

  /**
   * Runs the job with mutual TLS and a token from {@code files}, whose server certificate names
   * {@link #serverHosts}: the coordinator here reads them where they are, each remote follower and
   * worker gets its own through its ssh connection ({@link #SECURE_REMOTE_WRAPPER}).
   */
  SshLauncher secure(SecureJobFiles files) {
    this.secure = files;
    return this;
  }

  /** The names the servers are dialled by: the coordinator's {@code --server-host}, and each host of the list. */
  static List<String> serverHosts(Settings settings) {
    List<String> names = new ArrayList<>(List.of(settings.serverHost()));
    for (Host h : settings.hosts()) {
      names.add(shortName(h));
    }
    return names.stream().distinct().toList();
  }

  /** Runs the job; returns normally when it succeeded, throws {@link CommandFailure} otherwise. */
  void run() throws IOException, InterruptedException {
    Placement placement = Placement.of(settings.hosts(), settings.servers());
    int workers = placement.workers().size();
    try (ProcessSupervisor s = new ProcessSupervisor("gradflow-ssh", STDIN_GRACE)) {
      supervisor = s;
      List<String> rangeServers = startFollowers(placement.followers(), workers);
      List<String> shardArgs = new ArrayList<>(secure == null ? List.of() : secure.serverArgs());
      if (settings.servers() > 1) {
        shardArgs.addAll(List.of("--servers", Integer.toString(settings.servers()), "--server-index", "0"));
        for (String a : rangeServers) {
          shardArgs.addAll(List.of("--range-server", a));
        }
      }
      JobLaunch.StartedServer server = job.startServer(s, "0.0.0.0", settings.serverPort(), workers, false, null, 0, shardArgs);
      job.display().onEvent("parameter server on " + settings.serverHost() + ":" + server.port()
          + (rangeServers.isEmpty() ? "" : ", servers 1.." + rangeServers.size() + " on " + String.join(", ", rangeServers))
          + "; starting " + workers + " worker(s) over ssh on " + settings.hosts().size() + " host(s)");
      int rank = 0;
      for (Slot w : placement.workers()) {
        startWorker(w.host(), w.slot(), rank++, server.port(), rangeServers);
      }
      EventStream.Reader events = job.events();
      events.follow(server.child().process.getInputStream(), steps -> {});
      int serverCode = server.child().process.waitFor();
      ProcessSupervisor.awaitExit(s.children(), WORKER_EXIT);
      if (failure != null) {
        throw new CommandFailure(ExitCode.FAILED, failure);
      }
      if (serverCode != 0 || !events.finished()) {
        throw new CommandFailure(ExitCode.ofChild(serverCode),
            "parameter server exited with code " + serverCode + ": " + server.child().lastWords());
      }
    } finally {
      List<Thread> started;
      synchronized (pumps) {
        started = new ArrayList<>(pumps);
      }
      for (Thread t : started) {
        t.join(5_000);
      }
    }
  }

  /** The ssh command line that runs one worker on {@code host}. */
  List<String> sshCommand(Host host, String name, int port) {
    return sshCommand(host, name, port, List.of());
  }

  /** The ssh command line that runs one worker on {@code host}, given the followers' addresses. */
  List<String> sshCommand(Host host, String name, int port, List<String> rangeServers) {
    List<String> gradflow = new ArrayList<>(job.workerCommand(new HostPort(settings.serverHost(), port), name));
    for (String a : rangeServers) {
      gradflow.addAll(List.of("--range-server", a));
    }
    if (secure != null) {
      gradflow.addAll(SECURE_ARGS);
    }
    return ssh(host, gradflow);
  }

  /**
   * The ssh command line that runs follower {@code index} of the job's servers on {@code host}:
   * the job's server arguments, no outputs of its own, {@code --server-port} + index when the
   * port is fixed.
   */
  List<String> followerSshCommand(Host host, int index, int workers) {
    int port = settings.serverPort() == 0 ? 0 : settings.serverPort() + index;
    List<String> gradflow = new ArrayList<>(List.of("server", "--servers", Integer.toString(settings.servers()),
        "--server-index", Integer.toString(index), "--port", Integer.toString(port), "--bind", "0.0.0.0",
        "--workers", Integer.toString(workers)));
    gradflow.addAll(JobOptions.argsFor(job.spec(), job.config(), job.dataDir()));
    gradflow.addAll(job.serverArgs());
    if (secure != null) {
      gradflow.addAll(SECURE_ARGS);
    }
    return ssh(host, gradflow);
  }

  /** ssh to {@code host} running {@code gradflow} there under {@link #REMOTE_WRAPPER}. */
  private List<String> ssh(Host host, List<String> gradflow) {
    List<String> cmd = new ArrayList<>(List.of("ssh"));
    for (String o : settings.sshOpts()) {
      cmd.addAll(List.of("-o", o));
    }
    cmd.addAll(List.of("-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new", host.name()));
    List<String> remote = new ArrayList<>(List.of("sh", "-c", secure == null ? REMOTE_WRAPPER : SECURE_REMOTE_WRAPPER, "gradflow-worker",
        settings.remoteJava(), "--add-modules", "jdk.incubator.vector"));
    remote.addAll(JvmCommand.JIT_FLAGS);
    remote.addAll(List.of("-jar", settings.remoteJar()));
    remote.addAll(gradflow);
    // ssh hands one string to the remote login shell: quote every word for it.
    cmd.add(ShellWords.join(remote));
    return cmd;
  }

  /**
   * Starts servers 1..S-1 over ssh on their slots, all at once, and waits until each has logged
   * the port it listens on; returns their addresses, server 1 first (none with one server).
   */
  private List<String> startFollowers(List<Slot> followers, int workers) throws IOException, InterruptedException {
    List<CompletableFuture<Integer>> ports = new ArrayList<>();
    List<Child> children = new ArrayList<>();
    for (int i = 1; i <= followers.size(); i++) {
      Host host = followers.get(i - 1).host();
      String name = shortName(host) + "/server-" + i;
      Path log = job.logs().resolve("server-" + i + "-" + fileName(host) + ".log");
      Files.createDirectories(job.logs());
      CompletableFuture<Integer> port = new CompletableFuture<>();
      Child follower = supervisor.start("server " + i, new ProcessBuilder(followerSshCommand(host, i, workers)).redirectErrorStream(true), log);
      sendSecureFiles(follower, secure == null ? null : List.of(secure.ca(), secure.serverCert(), secure.serverKey(), secure.token()));
      follower.process.onExit().thenRun(() -> port.completeExceptionally(new IllegalStateException("ended")));
      Thread pump = startPump(follower, name, line -> {
        Matcher m = FOLLOWER_LISTENING.matcher(line);
        if (m.find()) {
          port.complete(Integer.parseInt(m.group(1)));
        }
      });
      supervisor.onFailure(follower, code -> childFailed(host, follower, pump, code));
      ports.add(port);
      children.add(follower);
    }
    List<String> addresses = new ArrayList<>();
    for (int i = 1; i <= followers.size(); i++) {
      Child follower = children.get(i - 1);
      try {
        int port = ports.get(i - 1).get(ProcessSupervisor.PORT_WAIT.toSeconds(), TimeUnit.SECONDS);
        addresses.add(new HostPort(shortName(followers.get(i - 1).host()), port).toString());
      } catch (ExecutionException e) {
        follower.process.waitFor(5, TimeUnit.SECONDS);
        throw new CommandFailure(ExitCode.FAILED, failure != null ? failure
            : follower.role + " on " + followers.get(i - 1).host().name() + " ended before serving: " + follower.lastWords());
      } catch (TimeoutException e) {
        throw new CommandFailure(ExitCode.FAILED, follower.role + " on " + followers.get(i - 1).host().name()
            + " did not start serving within " + ProcessSupervisor.PORT_WAIT.toSeconds() + " s");
      }
    }
    return addresses;
  }

  private void startWorker(Host host, int slot, int rank, int port, List<String> rangeServers) throws IOException {
    String name = shortName(host) + "/" + slot;
    Path log = job.logs().resolve("worker-" + rank + "-" + fileName(host) + ".log");
    Child worker = supervisor.start("worker " + name,
        new ProcessBuilder(sshCommand(host, name, port, rangeServers)).redirectErrorStream(true), log);
    sendSecureFiles(worker, secure == null ? null : List.of(secure.ca(), secure.clientCert(), secure.clientKey(), secure.token()));
    Thread pump = startPump(worker, name, line -> {});
    supervisor.onFailure(worker, code -> childFailed(host, worker, pump, code));
  }

  /**
   * Writes {@code files} (null: none), in the order of {@link #SECURE_FILES}, to a remote child's
   * stdin for {@link #SECURE_REMOTE_WRAPPER}, each followed by {@link #FILE_END}; stdin stays open.
   * A connection that failed already is told by the child's exit code, not here.
   */
  private static void sendSecureFiles(Child child, List<Path> files) throws IOException {
    if (files == null) {
      return;
    }
    byte[] input = secureFilesInput(files);
    try {
      java.io.OutputStream in = child.process.getOutputStream();
      in.write(input);
      in.flush();
    } catch (IOException e) {
      // ssh ended before reading: its exit code (255) ends the job with ssh's own words
    }
  }

  /** What {@link #SECURE_REMOTE_WRAPPER} reads first: each of {@code files} (text), then a {@link #FILE_END} line. */
  static byte[] secureFilesInput(List<Path> files) throws IOException {
    StringBuilder sb = new StringBuilder();
    for (Path f : files) {
      String text = Files.readString(f, StandardCharsets.US_ASCII);
      sb.append(text);
      if (!text.endsWith("\n")) {
        sb.append('\n');
      }
      sb.append(FILE_END).append('\n');
    }
    return sb.toString().getBytes(StandardCharsets.US_ASCII);
  }

  /** {@code host} without its {@code user@}. */
  static String shortName(Host host) {
    return host.name().substring(host.name().indexOf('@') + 1);
  }

  /** {@code host}'s name as a part of a file name. */
  private static String fileName(Host host) {
    return shortName(host).replaceAll("[^A-Za-z0-9._-]", "_");
  }

  /** Starts the thread that copies a child's output (see {@link #copyOutput}), each line also to {@code lines}. */
  private Thread startPump(Child child, String name, Consumer<String> lines) {
    Thread pump = new Thread(() -> copyOutput(child, name, lines), "gradflow-ssh-" + name);
    pump.setDaemon(true);
    pump.start();
    synchronized (pumps) {
      pumps.add(pump);
    }
    return pump;
  }

  /** Copies a remote child's output to its log and, prefixed with its name, to the launcher's stderr. */
  private void copyOutput(Child worker, String name, Consumer<String> lines) {
    PrintWriter err = settings.err();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(worker.process.getInputStream(), StandardCharsets.UTF_8));
        Writer w = Files.newBufferedWriter(worker.log, StandardCharsets.UTF_8)) {
      String line;
      while ((line = r.readLine()) != null) {
        w.write(line);
        w.write('\n');
        w.flush();
        synchronized (err) {
          err.println(name + ": " + line);
          err.flush();
        }
        lines.accept(line);
      }
    } catch (IOException e) {
      // the connection went away; the exit code tells
    }
  }

  /** The first worker or follower (or ssh) that fails ends the job. */
  private synchronized void childFailed(Host host, Child worker, Thread pump, int code) {
    if (failure != null) {
      return;
    }
    try {
      pump.join(2_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    failure = code == 255
        ? "ssh to " + host.name() + " failed: " + worker.lastWords()
        : worker.role + " exited with code " + code + ": " + worker.lastWords();
    supervisor.stopAll();
  }
}
