package io.gradflow.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code gradflow credentials}: the TLS files and the token of one job ({@link SecureJobFiles}),
 * the server certificate naming the hosts the servers run on, so that a cluster job gets mutual
 * TLS and a token without openssl (the Slurm script of {@code submit --secure} runs it).
 */
@Command(
    name = "credentials",
    mixinStandardHelpOptions = true,
    description = {
      "Make a job's TLS files and token: a CA (its key is never written), one server certificate for"
          + " the given server hosts and this host's loopback, one worker certificate, a random token;"
          + " then print the flags that use them.",
      "The directory is 0700, keys and the token 0600; files already there are replaced."
    })
final class CredentialsCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "The directory to write them to (made if missing).")
  Path out;

  @Option(names = "--host", paramLabel = "NAME", description = "A host name or IP address a server runs on, as the workers (and the coordinator) dial it; repeatable.")
  List<String> hosts = new ArrayList<>();

  @Override
  public Integer call() {
    for (String host : hosts) {
      SecureJobFiles.checkHost("--host", host);
    }
    if (Files.exists(out) && !Files.isDirectory(out)) {
      throw OutputPaths.cannotWrite("--out", out, "exists and is not a directory");
    }
    SecureJobFiles files = SecureJobFiles.create(out, hosts);
    PrintWriter stdout = spec.commandLine().getOut();
    stdout.println("wrote " + files.ca() + ", " + files.serverCert() + " (for " + String.join(", ", SecureJobFiles.serverNames(hosts)) + "), "
        + files.serverKey() + ", " + files.clientCert() + ", " + files.clientKey() + ", " + files.token());
    stdout.println("server flags: " + ShellWords.join(files.serverArgs()));
    stdout.println("worker flags: " + ShellWords.join(files.workerArgs()));
    stdout.flush();
    return ExitCode.OK.code();
  }
}
