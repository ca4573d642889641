package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
    ModelSpec spec = ModelSpec.parse("2-8-3", "tanh", "", 1);
    TrainingConfig config = new TrainingConfig("spirals", 60, 6, 0.1, 0.9, 0, LearningRateSchedule.Kind.CONSTANT,
        0, 0, 0.1, 1, 10, 1, "ejml");
    JobLaunch job = new JobLaunch(spec, config, dataDir, tmp, null, List.of(), List.of());
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
    assertTrue(printed.startsWith("--add-modules jdk.incubator.vector -jar /shared/gradflow.jar worker "
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
