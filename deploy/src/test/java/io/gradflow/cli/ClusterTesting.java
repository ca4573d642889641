package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.gradflow.common.report.RunSummary;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Helpers of the integration tests that drive real cluster software (Slurm, sshd). */
final class ClusterTesting {
  /** The small job every cluster test runs: 30 steps of 2 x 3 micro-shards on spirals. */
  static final List<String> SMALL_JOB = List.of(
      "--dataset", "spirals", "--model", "2-16-16-3", "--activation", "tanh",
      "--batch", "60", "--micro-shards", "6", "--max-steps", "30");

  static final Path JAR = Path.of("target", "gradflow.jar").toAbsolutePath();

  private ClusterTesting() {}

  /** Exit code and output (stdout and stderr together) of a finished process. */
  record Result(int code, String output) {}

  static boolean isRoot() {
    return "root".equals(System.getProperty("user.name"));
  }

  static boolean executable(String path) {
    return Files.isExecutable(Path.of(path));
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** {@code java -jar gradflow.jar} with the flags it needs. */
  static List<String> gradflow(String... args) {
    List<String> cmd = new ArrayList<>(List.of(JvmCommand.currentJava(), "--add-modules", "jdk.incubator.vector",
        "-jar", JAR.toString()));
    cmd.addAll(List.of(args));
    return cmd;
  }

  /** Runs a command to its end (at most {@code seconds}, then kills it), output merged into the result. */
  static Result run(List<String> cmd, Path dir, Map<String, String> env, long seconds)
      throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    if (dir != null) {
      pb.directory(dir.toFile());
    }
    pb.environment().putAll(env);
    Path log = Files.createTempFile("gradflow-it", ".log");
    pb.redirectOutput(log.toFile());
    Process p = pb.start();
    p.getOutputStream().close();
    try {
      if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
        p.destroy();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
        p.waitFor(10, TimeUnit.SECONDS);
        return new Result(-1, "(timed out after " + seconds + " s)\n" + Files.readString(log));
      }
      return new Result(p.exitValue(), Files.readString(log));
    } finally {
      Files.deleteIfExists(log);
    }
  }

  /** Stops a process we started: SIGTERM, then SIGKILL after a few seconds. */
  static void stop(Process p) throws InterruptedException {
    if (p == null || !p.isAlive()) {
      return;
    }
    p.destroy();
    if (!p.waitFor(10, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** The weights the same job gives in one process: every distributed run must give them to the bit. */
  static String singleProcessWeights(Path dir) throws IOException {
    List<String> args = new ArrayList<>(List.of("train", "--workers", "0", "--out", dir.toString()));
    args.addAll(SMALL_JOB);
    StringWriter out = new StringWriter();
    int code = Main.run(new PrintWriter(out, true), new PrintWriter(out, true), args.toArray(String[]::new));
    assertEquals(0, code, out.toString());
    return RunSummary.read(RunSummary.file(dir)).weightsSha256();
  }

  /** The files' last lines, for failure messages. */
  static String tails(Path... files) {
    StringBuilder sb = new StringBuilder();
    for (Path f : files) {
      sb.append("\n--- ").append(f).append(" ---\n");
      try {
        List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
        for (String l : lines.subList(Math.max(0, lines.size() - 30), lines.size())) {
          sb.append(l).append('\n');
        }
      } catch (IOException e) {
        sb.append("(unreadable: ").append(e.getMessage()).append(")\n");
      }
    }
    return sb.toString();
  }

  /** Removes a temporary directory, best effort. */
  static void deleteTree(Path dir) {
    if (dir == null) {
      return;
    }
    try (var files = Files.walk(dir)) {
      for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(f);
      }
    } catch (IOException e) {
      // a leftover temporary file is harmless
    }
  }

  /** Live processes whose command line contains every one of {@code parts}. */
  static List<ProcessHandle> processesWith(String... parts) {
    return ProcessHandle.allProcesses()
        .filter(ProcessHandle::isAlive)
        .filter(ph -> ph.info().commandLine().map(c -> {
          for (String part : parts) {
            if (!c.contains(part)) {
              return false;
            }
          }
          return true;
        }).orElse(false))
        .toList();
  }
}
