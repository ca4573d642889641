package io.gradflow.cli;

import io.gradflow.cli.HostList.Host;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The options of {@code gradflow train} that select and configure the {@link SshLauncher}. */
final class SshOptions {
  @Spec(Spec.Target.MIXEE)
  CommandSpec mixee;

  @Option(
      names = "--hosts",
      paramLabel = "FILE",
      description = "Run the workers over ssh on the hosts listed in FILE, one 'host[:slots]' a line (# comments); "
          + "slots workers per host (default 1). The server runs here; with --servers S, servers 1..S-1 take the "
          + "first slot of the first S-1 hosts.")
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

  @Option(names = "--server-port", paramLabel = "P", description = "With --hosts: the server's port; with --servers S, server I listens on P + I (default: 0, a free one).")
  int serverPort = 0;

  /** {@code --server-port} is a port (a usage error otherwise), whether or not --hosts uses it. */
  void check() {
    if (serverPort < 0 || serverPort > 65_535) {
      throw CommandFailure.usage("--server-port " + serverPort + " is not a port: expected 0..65535 (0 picks a free one)");
    }
  }

  /** True when {@code --hosts} asks for workers over ssh. */
  boolean selected() {
    return hosts != null;
  }

  /**
   * Parses the host list and checks it against the other options, for a job of {@code servers}
   * parameter servers and {@code microShards} micro-shards a step; throws {@link CommandFailure}
   * on a mistake. Called before anything is written, so a refused command leaves no output
   * directory behind.
   */
  SshLauncher.Settings settings(int servers, int microShards) throws IOException {
    List<Host> list = hostList();
    int workers;
    try {
      workers = SshLauncher.Placement.of(list, servers).workers().size();
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage(e.getMessage() + " (" + hosts + ")");
    }
    String slots = servers == 1 ? "" : " for workers (after servers 1.." + (servers - 1) + ")";
    if (mixee.commandLine().getParseResult().hasMatchedOption("--workers")) {
      int given = mixee.findOption("--workers").getValue();
      if (given != workers) {
        throw CommandFailure.usage("--workers " + given + " disagrees with " + hosts + ", which has " + workers + " slot(s)" + slots);
      }
    }
    if (workers > microShards) {
      throw CommandFailure.usage(hosts + " has " + workers + " slots" + slots + ", more than --micro-shards "
          + microShards + ": raise --micro-shards to at least the slot count");
    }
    for (String o : sshOpts) {
      if (!o.contains("=") || o.startsWith("-")) {
        throw CommandFailure.usage("--ssh-opt '" + o + "': expected an ssh option as KEY=VALUE, e.g. Port=2222");
      }
    }
    String jar = remoteJar != null ? remoteJar : JvmCommand.runningJar().map(Path::toString).orElseThrow(() ->
        CommandFailure.usage("--remote-jar is required when gradflow does not run from its jar"));
    String host = serverHost != null ? serverHost : localHostName();
    return new SshLauncher.Settings(list, host, serverPort, sshOpts, remoteJava, jar, mixee.commandLine().getErr(), servers);
  }

  private List<Host> hostList() throws IOException {
    try {
      return HostList.parse(hosts, Files.readAllLines(hosts, StandardCharsets.UTF_8));
    } catch (NoSuchFileException e) {
      throw CommandFailure.usage("--hosts " + hosts + ": no such file");
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage(e.getMessage());
    }
  }

  private static String localHostName() {
    try {
      return InetAddress.getLocalHost().getCanonicalHostName();
    } catch (UnknownHostException e) {
      throw new UncheckedIOException("cannot find this machine's host name (give --server-host): " + e.getMessage(), e);
    }
  }
}
