package io.gradflow.cli;

import io.gradflow.common.report.RunSummary;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Helpers for tests that run gradflow commands in this JVM or as real child JVMs. */
final class Jobs {
  private Jobs() {}

  /** A small spirals job that trains in a second or two. */
  static List<String> spiralsJob(int maxSteps) {
    return new ArrayList<>(List.of(
        "--dataset", "spirals", "--model", "2-24-24-3", "--activation", "tanh", "--batch", "60",
        "--micro-shards", "6", "--max-steps", Integer.toString(maxSteps), "--lr", "0.1", "--seed", "3"));
  }

  /** The result of a command run in this JVM. */
  record Run(int exitCode, String out, String err) {}

  static Run run(List<String> args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args.toArray(String[]::new));
    return new Run(code, out.toString(), err.toString());
  }

  /** {@link #run} of {@code args}, failing the test (with the command's stderr) unless it exits {@code expectedCode}. */
  static Run runExpecting(int expectedCode, String... args) {
    Run r = run(List.of(args));
    org.junit.jupiter.api.Assertions.assertEquals(expectedCode, r.exitCode(), r.err());
    return r;
  }

  /** The summary.json of the job directory {@code dir}. */
  static RunSummary summary(Path dir) {
    return RunSummary.read(RunSummary.file(dir));
  }

  /**
   * Runs {@code gradflow ARGS} with the launcher in a child JVM (output to {@code log}) whose own
   * children get the JVM's full JIT: the build gives the JVMs that tests start C1 only
   * ({@code $GRADFLOW_CHILD_JAVA_OPTS}, see deploy/pom.xml), which is cheaper for tiny jobs but
   * runs the Vector API kernels far slower; jobs with a real model need C2. Fails after {@code
   * seconds}, stopping the launcher (its children watch it and exit).
   */
  static Run runWithFullJit(List<String> args, Path log, int seconds) throws Exception {
    List<String> cmd = new ArrayList<>(JvmCommand.thisProgram());
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().remove("GRADFLOW_CHILD_JAVA_OPTS");
    Process launcher = pb.start();
    if (!launcher.waitFor(seconds, TimeUnit.SECONDS)) {
      launcher.destroyForcibly().waitFor();
      throw new AssertionError("gradflow " + String.join(" ", args) + " did not end in " + seconds + " s:\n"
          + Files.readString(log));
    }
    return new Run(launcher.exitValue(), Files.readString(log), "");
  }

  /** Starts {@code gradflow ARGS} as a child JVM with stdout and stderr to {@code log}. */
  static Process startChild(List<String> args, Path log) throws IOException {
    List<String> cmd = new ArrayList<>(JvmCommand.thisProgram());
    cmd.addAll(args);
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  /** Waits until {@code file} exists and contains {@code text}, or fails after {@code seconds}. */
  static void awaitText(Path file, String text, int seconds) throws Exception {
    long deadline = System.nanoTime() + seconds * 1_000_000_000L;
    while (System.nanoTime() < deadline) {
      if (Files.exists(file) && Files.readString(file).contains(text)) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no '" + text + "' in " + file + " after " + seconds + " s"
        + (Files.exists(file) ? ":\n" + Files.readString(file) : " (missing)"));
  }

  /** True once none of {@code processes} is alive, waiting up to {@code seconds}. */
  static boolean allGone(List<ProcessHandle> processes, int seconds) throws InterruptedException {
    long deadline = System.nanoTime() + seconds * 1_000_000_000L;
    while (System.nanoTime() < deadline) {
      if (processes.stream().noneMatch(ProcessHandle::isAlive)) {
        return true;
      }
      Thread.sleep(50);
    }
    return false;
  }
}
