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
  /** How long workers get to end by themselves once the server has. */
  private static final Duration WORKER_EXIT = Duration.ofSeconds(30);

  /** How long a remote worker gets to end once its ssh connection's stdin is closed. */
  private static final Duration STDIN_GRACE = Duration.ofSeconds(2);

  /**
   * Runs {@code "$@"} in the background with stdin from /dev/null, and kills it when this shell's
   * stdin (the ssh channel) reaches end of file; exits with its exit code. The reader is a shell
   * builtin, so killing the watcher leaves nothing behind holding the channel open.
   */
  static final String REMOTE_WRAPPER =
      "exec 3<&0 </dev/null; \"$@\" & pid=$!; "
          + "(while read -r _ <&3; do :; done; kill $pid 2>/dev/null) & w=$!; exec 3<&-; "
          + "wait $pid; rc=$?; kill $w 2>/dev/null; exit $rc";

  /**
   * Where the workers run and how they are reached: the hosts, the address they dial for the
   * server here, ssh's {@code -o} options, java and the jar on the hosts; {@code err} shows their
   * output.
   */
  record Settings(List<Host> hosts, String serverHost, int serverPort, List<String> sshOpts, String remoteJava,
      String remoteJar, PrintWriter err) {}

  private final JobLaunch job;
  private final Settings settings;
  private final List<Thread> pumps = new ArrayList<>();
  private ProcessSupervisor supervisor;
  private volatile String failure;

  SshLauncher(JobLaunch job, Settings settings) {
    this.job = job;
    this.settings = settings;
  }

  /** Runs the job; returns normally when it succeeded, throws {@link CommandFailure} otherwise. */
  void run() throws IOException, InterruptedException {
    int workers = settings.hosts().stream().mapToInt(Host::slots).sum();
    try (ProcessSupervisor s = new ProcessSupervisor("gradflow-ssh", STDIN_GRACE)) {
      supervisor = s;
      JobLaunch.StartedServer server = job.startServer(s, "0.0.0.0", settings.serverPort(), workers, false);
      job.display().onEvent("parameter server on " + settings.serverHost() + ":" + server.port() + "; starting " + workers
          + " worker(s) over ssh on " + settings.hosts().size() + " host(s)");
      int rank = 0;
      for (Host h : settings.hosts()) {
        for (int slot = 0; slot < h.slots(); slot++) {
          startWorker(h, slot, rank++, server.port());
        }
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
      for (Thread t : pumps) {
        t.join(5_000);
      }
    }
  }

  /** The ssh command line that runs one worker on {@code host}. */
  List<String> sshCommand(Host host, String name, int port) {
    List<String> cmd = new ArrayList<>(List.of("ssh"));
    for (String o : settings.sshOpts()) {
      cmd.addAll(List.of("-o", o));
    }
    cmd.addAll(List.of("-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new", host.name()));
    List<String> remote = new ArrayList<>(List.of("sh", "-c", REMOTE_WRAPPER, "gradflow-worker",
        settings.remoteJava(), "--add-modules", "jdk.incubator.vector", "-jar", settings.remoteJar()));
    remote.addAll(job.workerCommand(new HostPort(settings.serverHost(), port), name));
    // ssh hands one string to the remote login shell: quote every word for it.
    cmd.add(ShellWords.join(remote));
    return cmd;
  }

  private void startWorker(Host host, int slot, int rank, int port) throws IOException {
    String shortName = host.name().substring(host.name().indexOf('@') + 1);
    String name = shortName + "/" + slot;
    Path log = job.logs().resolve("worker-" + rank + "-" + shortName.replaceAll("[^A-Za-z0-9._-]", "_") + ".log");
    Child worker = supervisor.start("worker " + name, new ProcessBuilder(sshCommand(host, name, port)).redirectErrorStream(true), log);
    Thread pump = new Thread(() -> copyOutput(worker, name), "gradflow-ssh-" + name);
    pump.setDaemon(true);
    pump.start();
    pumps.add(pump);
    supervisor.onFailure(worker, code -> workerFailed(host, worker, pump, code));
  }

  /** Copies a worker's output to its log and, prefixed with its name, to the launcher's stderr. */
  private void copyOutput(Child worker, String name) {
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
      }
    } catch (IOException e) {
      // the connection went away; the exit code tells
    }
  }

  /** The first worker (or ssh) that fails ends the job. */
  private synchronized void workerFailed(Host host, Child worker, Thread pump, int code) {
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
