package io.gradflow.cli;

import static io.gradflow.cli.ClusterTesting.SMALL_JOB;
import static io.gradflow.cli.ClusterTesting.executable;
import static io.gradflow.cli.ClusterTesting.gradflow;
import static io.gradflow.cli.ClusterTesting.processesWith;
import static io.gradflow.cli.ClusterTesting.tails;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.gradflow.common.report.RunSummary;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code gradflow train --hosts --servers 2} against a real OpenSSH server on 127.0.0.1 (its own
 * port, host key and authorized key, all generated here): server 1 (a follower, on the first slot
 * of the first host) and two workers run through ssh, the coordinator here; their output comes back
 * prefixed, the job gives the single-process weights, and no remote worker or server survives the
 * end of the job or an interrupted launcher.
 */
class SshLauncherIT {
  private static Path dir;
  private static Process sshd;
  private static Path sshdLog;
  private static Path hosts;
  private static Path userKey;
  private static final List<String> sshArgs = new ArrayList<>();

  @BeforeAll
  static void startSshd() throws Exception {
    for (String p : List.of("/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen")) {
      Prerequisites.need(executable(p), p + " is missing: install openssh-server and openssh-client to run SshLauncherIT");
    }
    Prerequisites.need(ClusterTesting.isRoot(), "SshLauncherIT runs sshd, which must run as root");
    Prerequisites.need(Files.isRegularFile(ClusterTesting.JAR), "no " + ClusterTesting.JAR + ": run 'mvn verify' (package comes first)");
    dir = Files.createTempDirectory("gradflow-ssh-it");
    Path hostKey = dir.resolve("host_key");
    userKey = dir.resolve("user_key");
    for (Path key : List.of(hostKey, userKey)) {
      ClusterTesting.Result r = ClusterTesting.run(
          List.of("/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "gradflow-it", "-f", key.toString()),
          dir, Map.of(), 30);
      assertEquals(0, r.code(), r.output());
    }
    Path authorized = dir.resolve("authorized_keys");
    Files.copy(dir.resolve("user_key.pub"), authorized);
    Path privsep = Path.of("/run/sshd"); // sshd's privilege separation directory
    if (!Files.isDirectory(privsep)) {
      Files.createDirectories(privsep, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
    }
    int port = ClusterTesting.freePort();
    Path config = dir.resolve("sshd_config");
    Files.writeString(config, String.join("\n",
        "Port " + port,
        "ListenAddress 127.0.0.1",
        "HostKey " + hostKey,
        "AuthorizedKeysFile " + authorized,
        "PidFile " + dir.resolve("sshd.pid"),
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "PermitRootLogin prohibit-password",
        "PrintMotd no",
        "LogLevel VERBOSE",
        ""));
    sshdLog = dir.resolve("sshd.log");
    sshd = new ProcessBuilder("/usr/sbin/sshd", "-D", "-e", "-f", config.toString())
        .redirectErrorStream(true).redirectOutput(sshdLog.toFile()).start();
    waitFor(() -> {
      if (!sshd.isAlive()) {
        fail("sshd exited with code " + sshd.exitValue() + tails(sshdLog));
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
        return true;
      } catch (java.io.IOException e) {
        return false;
      }
    }, 20, "sshd did not listen on 127.0.0.1:" + port);
    hosts = dir.resolve("hosts.txt");
    Files.writeString(hosts, "# the test's \"cluster\": this machine through sshd, server 1 and two workers\n127.0.0.1:3\n");
    for (String o : List.of("Port=" + port, "IdentityFile=" + userKey, "IdentitiesOnly=yes",
        "UserKnownHostsFile=" + dir.resolve("known_hosts"), "ConnectTimeout=20")) {
      sshArgs.addAll(List.of("--ssh-opt", o));
    }
  }

  @AfterAll
  static void stopSshd() throws Exception {
    ClusterTesting.stop(sshd);
    ClusterTesting.deleteTree(dir);
  }

  private static List<String> trainArgs(Path out, List<String> job) {
    List<String> args = new ArrayList<>(List.of("train", "--hosts", hosts.toString()));
    args.addAll(sshArgs);
    args.addAll(List.of("--servers", "2", "--server-host", "127.0.0.1", "--out", out.toString()));
    args.addAll(job);
    return args;
  }

  @Test
  void runsAServerAndTheWorkersOverSshStreamsTheirLogsAndLeavesNothingBehind() throws Exception {
    Path out = dir.resolve("run");
    List<String> args = trainArgs(out, SMALL_JOB);
    args.add("--secure");
    ClusterTesting.Result r = ClusterTesting.run(gradflow(args.toArray(String[]::new)), dir, Map.of(), 150);
    String logs = r.output() + tails(out.resolve("logs/server.log"), sshdLog);
    assertEquals(0, r.code(), logs);
    // --secure: the coordinator here and server 1 over ssh served mutual TLS with the token, server 1
    // and the workers from the files each got through its ssh connection, removed when it ended
    assertTrue(Pattern.compile("(?m)^TLS: TLSv1\\.[23] \\S+, client certificate CN=gradflow worker").matcher(r.output()).find(), logs);
    assertTrue(Pattern.compile("(?m)^127\\.0\\.0\\.1/server-1: gradflow server: TLS: TLSv1\\.[23] \\S+, client certificate "
        + "CN=gradflow server").matcher(r.output()).find(), logs);
    assertTrue(!r.output().contains("gradflow server: WARNING"), logs);
    try (var left = Files.newDirectoryStream(Path.of(System.getProperty("java.io.tmpdir")), "gradflow-secure.*")) {
      assertTrue(!left.iterator().hasNext(), "a remote process's TLS files left behind" + logs);
    }
    Path summary = out.resolve("summary.json");
    assertEquals(2, RunSummary.read(summary).workers(), logs);
    assertEquals(30, RunSummary.read(summary).steps(), logs);
    assertEquals(ClusterTesting.singleProcessWeights(dir.resolve("single")), RunSummary.read(summary).weightsSha256(),
        "same weights as one process");
    for (String slot : List.of("127.0.0.1/1", "127.0.0.1/2")) {
      assertTrue(r.output().contains(slot + ": gradflow worker: joined as rank"), "prefixed remote log of " + slot + "\n" + logs);
      assertTrue(r.output().contains(slot + ": gradflow worker: rank"), logs);
    }
    // server 1 ran on the host's first slot, and the coordinator here read its range to the end
    assertTrue(r.output().contains("127.0.0.1/server-1: gradflow server: server 1 (a follower) listening on"), logs);
    assertTrue(r.output().contains("127.0.0.1/server-1: gradflow server: server 1: the coordinator read the final range after 30 steps"), logs);
    assertTrue(Files.readString(sshdLog).contains("Accepted publickey"), "the workers came through sshd" + tails(sshdLog));
    String server = "127.0.0.1:" + Files.readString(out.resolve("logs/server.port")).trim();
    assertNoneLeft(server);
  }

  @Test
  void interruptingTheLauncherStopsTheRemoteWorkers() throws Exception {
    Path out = dir.resolve("interrupted");
    List<String> job = new ArrayList<>(SMALL_JOB.subList(0, SMALL_JOB.size() - 2));
    job.addAll(List.of("--epochs", "100000")); // far longer than the test
    Path log = dir.resolve("interrupted.log");
    Process launcher = new ProcessBuilder(gradflow(trainArgs(out, job).toArray(String[]::new)))
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      waitFor(() -> {
        try {
          String text = Files.readString(log);
          return text.contains("127.0.0.1/1: gradflow worker: joined") && text.contains("127.0.0.1/2: gradflow worker: joined");
        } catch (java.io.IOException e) {
          return false;
        }
      }, 180, "the remote workers did not join" + tails(log, sshdLog));
      String server = "127.0.0.1:" + Files.readString(out.resolve("logs/server.port")).trim();
      List<ProcessHandle> javaWorkers = processesWith(" worker --server " + server).stream()
          .filter(p -> p.info().command().orElse("").endsWith("java")).toList();
      assertEquals(2, javaWorkers.size(), "both remote workers run (and can be seen)" + tails(log));
      assertEquals(1, remoteFollowers().stream().filter(p -> p.info().command().orElse("").endsWith("java")).count(),
          "server 1 runs (and can be seen)" + tails(log));

      // Ctrl-C
      new ProcessBuilder("kill", "-INT", Long.toString(launcher.pid())).start().waitFor(10, TimeUnit.SECONDS);
      assertTrue(launcher.waitFor(60, TimeUnit.SECONDS), "the launcher did not stop on SIGINT" + tails(log));
      assertNotEquals(0, launcher.exitValue());
      assertNoneLeft(server);
    } finally {
      ClusterTesting.stop(launcher);
    }
  }

  /**
   * Nothing that runs a worker of this server or server 1 (java, its remote wrapper shell, the ssh
   * carrying it) and no ssh of this test is alive, after a little time for them to go.
   */
  private static void assertNoneLeft(String server) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline && !(processesWith("--server " + server).isEmpty()
        && processesWith(userKey.toString()).isEmpty() && remoteFollowers().isEmpty())) {
      Thread.sleep(200);
    }
    assertEquals(List.of(), describe(processesWith("--server " + server)), "remote workers left running");
    assertEquals(List.of(), describe(remoteFollowers()), "remote server 1 left running");
    assertEquals(List.of(), describe(processesWith(userKey.toString())), "ssh processes left running");
  }

  /** The processes that run server 1 of this jar (java and its remote wrapper shell). */
  private static List<ProcessHandle> remoteFollowers() {
    return processesWith(ClusterTesting.JAR.toString(), " server ", "--server-index 1 ");
  }

  private static List<String> describe(List<ProcessHandle> ps) {
    return ps.stream().map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList();
  }

  private static void waitFor(BooleanSupplier c, long seconds, String message) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < deadline) {
      if (c.getAsBoolean()) {
        return;
      }
      Thread.sleep(200);
    }
    fail(message);
  }
}
