package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.gradflow.cli.HostList.Host;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.train.TrainingConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Host lists, the remote command line and the usage errors of {@code gradflow train --hosts} (no ssh needed). */
class SshLauncherTest {
  @TempDir Path tmp;

  @Test
  void parsesHostsSlotsCommentsAndBlankLines() {
    List<Host> hosts = HostList.parse(Path.of("hosts.txt"), List.of(
        "# the cluster",
        "node1:4",
        "",
        "  alice@node2   # one slot",
        "node-3.example.org:2",
        "[::1]:3",
        "bob@[fe80::1%eth0]"));
    assertEquals(List.of(new Host("node1", 4), new Host("alice@node2", 1), new Host("node-3.example.org", 2),
        new Host("::1", 3), new Host("bob@fe80::1%eth0", 1)), hosts);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
    "node1:x          | hosts.txt:2: slots must be a positive integer, got 'x'",
    "node1:0          | hosts.txt:2: slots must be a positive integer, got '0'",
    "node1:           | hosts.txt:2: slots must be a positive integer, got ''",
    "node1 node2      | hosts.txt:2: expected 'host[:slots]', got 'node1 node2'",
    "::1:2            | hosts.txt:2: write IPv6 addresses in brackets, e.g. [::1]:2; got '::1:2'",
    "-oProxyCommand=x | hosts.txt:2: bad host name '-oProxyCommand=x'",
    "node$(reboot)    | hosts.txt:2: bad host name 'node$(reboot)'",
    "[::1            | hosts.txt:2: unclosed '[' in '[::1'",
  })
  void aMalformedLineIsAnErrorNamingFileAndLine(String line, String message) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> HostList.parse(Path.of("hosts.txt"), List.of("ok:1", line.strip())));
    assertEquals(message, e.getMessage());
  }

  @Test
  void anEmptyListIsAnError() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> HostList.parse(Path.of("h"), List.of("# nothing", "")));
    assertEquals("h: no hosts (expected lines 'host[:slots]')", e.getMessage());
  }

  private static SubmitCommandTest.Run train(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    String[] all = new String[args.length + 1];
    all[0] = "train";
    System.arraycopy(args, 0, all, 1, args.length);
    int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), all);
    return new SubmitCommandTest.Run(code, out.toString(), err.toString());
  }

  @Test
  void aRefusedHostListLeavesNoOutputDirectory() throws Exception {
    Path hosts = tmp.resolve("hosts.txt");
    Files.writeString(hosts, "node1:2\nnode2\n");
    Path out = tmp.resolve("out");
    for (String[] mistake : List.of(new String[] {"--workers", "2"}, new String[] {"--batch", "2"},
        new String[] {"--ssh-opt", "-v"})) {
      var r = train("--hosts", hosts.toString(), mistake[0], mistake[1], "--remote-jar", "/x.jar", "--out", out.toString());
      assertEquals(ExitCode.USAGE.code(), r.code(), r.err());
      assertFalse(Files.exists(out), "a refused " + mistake[0] + " " + mistake[1] + " created " + out);
    }
  }

  @Test
  void badHostListsAndOptionsAreOneLineUsageErrors() throws Exception {
    Path hosts = tmp.resolve("hosts.txt");
    Files.writeString(hosts, "node1:2\nnode2:two\n");
    var r = train("--hosts", hosts.toString(), "--remote-jar", "/x.jar", "--out", tmp.resolve("o").toString());
    assertEquals(ExitCode.USAGE.code(), r.code());
    assertEquals("gradflow train: " + hosts + ":2: slots must be a positive integer, got 'two'",
        r.err().lines().findFirst().orElseThrow());

    r = train("--hosts", tmp.resolve("missing.txt").toString(), "--remote-jar", "/x.jar");
    assertEquals(ExitCode.USAGE.code(), r.code());
    assertTrue(r.err().contains("missing.txt: no such file"), r.err());

    Files.writeString(hosts, "node1:2\nnode2\n");
    r = train("--hosts", hosts.toString(), "--workers", "2", "--remote-jar", "/x.jar");
    assertEquals(ExitCode.USAGE.code(), r.code());
    assertTrue(r.err().contains("--workers 2 disagrees with " + hosts + ", which has 3 slot(s)"), r.err());

    r = train("--hosts", hosts.toString(), "--batch", "2", "--remote-jar", "/x.jar");
    assertEquals(ExitCode.USAGE.code(), r.code());
    assertTrue(r.err().contains("has 3 slots, more than --micro-shards 2"), r.err());

    r = train("--hosts", hosts.toString(), "--ssh-opt", "-v", "--remote-jar", "/x.jar");
    assertEquals(ExitCode.USAGE.code(), r.code());
  }

  /** Server I (1..S-1) takes the first slot of the host list's I-th line; workers take every other slot. */
  @Test
  void serversTakeTheFirstSlotOfTheFirstHostsAndWorkersTheRest() throws Exception {
    Host a = new Host("node1", 2);
    Host b = new Host("alice@node2", 1);
    Host c = new Host("node3", 2);
    SshLauncher.Placement p = SshLauncher.Placement.of(List.of(a, b, c), 3);
    assertEquals(List.of(new SshLauncher.Slot(a, 0), new SshLauncher.Slot(b, 0)), p.followers());
    assertEquals(List.of(new SshLauncher.Slot(a, 1), new SshLauncher.Slot(c, 0), new SshLauncher.Slot(c, 1)), p.workers());
    SshLauncher.Placement one = SshLauncher.Placement.of(List.of(a, b), 1);
    assertEquals(List.of(), one.followers());
    assertEquals(3, one.workers().size());
    assertEquals("--servers 3 runs servers 1..2 on the first 2 hosts of the list, which has 1",
        assertThrows(IllegalArgumentException.class, () -> SshLauncher.Placement.of(List.of(new Host("n", 4)), 3)).getMessage());

    Path hosts = tmp.resolve("hosts.txt");
    Files.writeString(hosts, "node1\n");
    var r = train("--hosts", hosts.toString(), "--servers", "2", "--remote-jar", "/x.jar");
    assertEquals(ExitCode.USAGE.code(), r.code());
    assertEquals("gradflow train: --servers 2 takes 1 slot(s) of the host list for servers 1..1 and leaves none for a worker ("
        + hosts + ")", r.err().lines().findFirst().orElseThrow());
    Files.writeString(hosts, "node1:2\nnode2\n");
    r = train("--hosts", hosts.toString(), "--servers", "2", "--workers", "3", "--remote-jar", "/x.jar");
    assertEquals(ExitCode.USAGE.code(), r.code());
    assertTrue(r.err().contains("--workers 3 disagrees with " + hosts + ", which has 2 slot(s) for workers (after servers 1..1)"), r.err());
  }

  /** A follower runs 'gradflow server --servers S --server-index I' with the job's options; workers get --range-server. */
  @Test
  void theRemoteFollowerAndWorkersOfAShardedJobGetTheirServerArguments() throws Exception {
    Prerequisites.need(SubmitCommandTest.onPath("sh"), "no sh");
    JobLaunch job = smallJob(null, List.of("--checkpoint-every", "5"));
    SshLauncher launcher = new SshLauncher(job, new SshLauncher.Settings(List.of(), "head.example", 7000,
        List.of(), "echo", "/shared/gradflow.jar", null, 3));
    String follower = runRemote(launcher.followerSshCommand(new Host("n2", 1), 2, 4));
    assertTrue(follower.startsWith("--add-modules jdk.incubator.vector " + String.join(" ", JvmCommand.JIT_FLAGS) + " -jar /shared/gradflow.jar server --servers 3 --server-index 2 "
        + "--port 7002 --bind 0.0.0.0 --workers 4 --model 2-8-3 "), follower);
    assertTrue(follower.endsWith("--checkpoint-every 5"), follower);
    assertTrue(runRemote(launcher.sshCommand(new Host("n3", 1), "n3/0", 7000, List.of("n1:7001", "n2:7002")))
        .endsWith("--range-server n1:7001 --range-server n2:7002"));
  }

  /**
   * --secure over ssh: the remote wrapper takes a worker's four files from its stdin into a fresh
   * directory, gives the worker their paths there, and removes the directory when the worker ends;
   * neither the files' contents nor their paths here are on the command line ssh carries.
   */
  @Test
  void aSecureRemoteWorkerGetsItsFilesThroughStdinAndNoneOnTheCommandLine() throws Exception {
    Prerequisites.need(SubmitCommandTest.onPath("sh"), "no sh");
    JobLaunch job = smallJob(null, List.of());
    // "java" on the remote host: prints each TLS file it is given, its path and its content
    Path fakeJava = tmp.resolve("java");
    Files.writeString(fakeJava, "#!/bin/sh\nfor a in \"$@\"; do case $a in */ca.pem|*/cert.pem|*/key.pem|*/token) "
        + "echo \"file $a\"; cat \"$a\";; esac; done\n");
    Files.setPosixFilePermissions(fakeJava, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    SshLauncher.Settings settings = new SshLauncher.Settings(List.of(new Host("n1", 1)), "head.example", 7000,
        List.of(), fakeJava.toString(), "/shared/gradflow.jar", null, 1);
    SecureJobFiles files = SecureJobFiles.create(tmp.resolve("secure"), SshLauncher.serverHosts(settings));
    SshLauncher launcher = new SshLauncher(job, settings).secure(files);
    List<String> ssh = launcher.sshCommand(new Host("n1", 1), "n1/0", 7000, List.of());
    String remote = ssh.get(ssh.size() - 1);
    String key = Files.readString(files.clientKey());
    assertFalse(remote.contains(files.dir().toString()), remote);
    assertFalse(remote.contains(key.lines().skip(1).findFirst().orElseThrow()), "the key is not on the command line");

    Process p = new ProcessBuilder("sh", "-c", remote).redirectErrorStream(true).start();
    p.getOutputStream().write(SshLauncher.secureFilesInput(List.of(files.ca(), files.clientCert(), files.clientKey(), files.token())));
    p.getOutputStream().flush();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8); // until the worker ended
    p.getOutputStream().close();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    java.util.regex.Matcher dir = java.util.regex.Pattern.compile("file (\\S+)/key\\.pem").matcher(out);
    assertTrue(dir.find(), out);
    assertTrue(out.contains("file " + dir.group(1) + "/key.pem\n" + key), out);
    assertTrue(out.contains("file " + dir.group(1) + "/token\n" + Files.readString(files.token())), out);
    assertTrue(out.contains("file " + dir.group(1) + "/cert.pem\n" + Files.readString(files.clientCert())), out);
    assertFalse(Files.exists(Path.of(dir.group(1))), "the remote directory is removed when the worker ends");
  }

  /** A 2-8-3 spirals job for the launcher, reading {@code dataDir} (null: the default), outputs under the test's directory. */
  private JobLaunch smallJob(Path dataDir, List<String> serverArgs) {
    ModelSpec spec = ModelSpec.parse("2-8-3", "tanh", "", 1);
    TrainingConfig config = new TrainingConfig("spirals", 60, 6, 0.1, 0.9, 0, LearningRateSchedule.Kind.CONSTANT,
        0, 0, 0.1, 1, 10, 1, "ejml");
    return new JobLaunch(spec, config, dataDir, tmp, null, serverArgs, List.of());
  }

  /** What the remote end of an ssh command prints, run here by sh (with "java" being echo). */
  private static String runRemote(List<String> ssh) throws Exception {
    Process p = new ProcessBuilder("sh", "-c", ssh.get(ssh.size() - 1)).redirectErrorStream(true).start();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    p.getOutputStream().close();
    return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
  }

  @Test
  void withoutTheJarTheRemoteJarMustBeGiven() throws Exception {
    assumeTrue(JvmCommand.runningJar().isEmpty(), "runs from the jar (as under failsafe), which is the default");
    Path hosts = tmp.resolve("hosts.txt");
    Files.writeString(hosts, "node1:2\nnode2\n");
    var r = train("--hosts", hosts.toString());
    assertEquals(ExitCode.USAGE.code(), r.code());
    assertTrue(r.err().contains("--remote-jar is required"), r.err());
  }

  /**
   * The string ssh hands to the remote login shell runs the worker with every argument intact
   * (here the "remote" is a local sh and "java" is echo).
   */
  @Test
  void theRemoteCommandKeepsEveryArgumentAndItsExitCode() throws Exception {
    Prerequisites.need(SubmitCommandTest.onPath("sh"), "no sh");
    Path dataDir = tmp.resolve("data dir with 'quotes' and $VARS");
    JobLaunch job = smallJob(dataDir, List.of());
    SshLauncher launcher = new SshLauncher(job, new SshLauncher.Settings(List.of(), "head.example", 7070,
        List.of("Port=2222"), "echo", "/shared/gradflow.jar", null));
    List<String> ssh = launcher.sshCommand(new Host("alice@node1", 1), "node1/0", 41000);
    assertEquals(List.of("ssh", "-o", "Port=2222", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new",
        "alice@node1"), ssh.subList(0, 8));
    String remote = ssh.get(8);
    // stdin stays open while it runs, as the ssh connection does: its end would stop the worker
    Process p = new ProcessBuilder("sh", "-c", remote).redirectErrorStream(true).start();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    p.getOutputStream().close();
    String printed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertEquals(0, p.exitValue(), printed);
    assertTrue(printed.startsWith("--add-modules jdk.incubator.vector " + String.join(" ", JvmCommand.JIT_FLAGS) + " -jar /shared/gradflow.jar worker "
        + "--server head.example:41000 --name node1/0 --model "), printed);
    assertTrue(printed.endsWith("--data-dir " + dataDir.toAbsolutePath()), printed);

    // the worker's exit code comes back through the wrapper
    SshLauncher failing = new SshLauncher(job, new SshLauncher.Settings(List.of(), "h", 1, List.of(), "false", "/j.jar", null));
    List<String> cmd = failing.sshCommand(new Host("n", 1), "n/0", 1);
    Process q = new ProcessBuilder("sh", "-c", cmd.get(cmd.size() - 1)).start();
    assertTrue(q.waitFor(30, TimeUnit.SECONDS));
    q.getOutputStream().close();
    assertEquals(1, q.exitValue());
  }

  @Test
  void ipv6ServerAddressesAreBracketed() {
    assertEquals("[fe80::1]:7070", new HostPort("fe80::1", 7070).toString());
    assertEquals("head:7070", new HostPort("head", 7070).toString());
    assertEquals(new HostPort("fe80::1", 7070), HostPort.parse("--server", "[fe80::1]:7070"));
  }
}
