package io.gradflow.cli;

import io.gradflow.common.report.RunSummary;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

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

  /** The summary.json of the job directory {@code dir}. */
  static RunSummary summary(Path dir) {
    return RunSummary.read(RunSummary.file(dir));
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
