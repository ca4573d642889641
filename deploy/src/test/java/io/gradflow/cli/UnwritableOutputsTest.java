package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An output that cannot be written ({@code --out}, {@code --output}, {@code --port-file}, {@code
 * --script}, the report) ends every command the same way: exit code {@link ExitCode#SAVE_FAILED},
 * one line naming the option, the path and the reason, no temporary file left, and where the
 * command has work to do, before it starts (a server does not listen). An empty {@code --out} is a
 * usage error.
 */
class UnwritableOutputsTest {
  private static final List<String> JOB = List.of(
      "--dataset", "blobs:3:300:4:60", "--model", "4-8-3", "--epochs", "1", "--batch", "32");

  @TempDir Path tmp;

  private static List<String> args(List<String> head, List<String> tail) {
    List<String> all = new ArrayList<>(head);
    all.addAll(tail);
    return all;
  }

  /** Runs {@code args} (for at most 60 s) and returns its one line, checking the code and no stack trace. */
  private static String failsWith(ExitCode code, List<String> args) {
    Jobs.Run r = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> Jobs.run(args), String.join(" ", args));
    assertEquals(code.code(), r.exitCode(), String.join(" ", args) + "\n" + r.out() + r.err());
    String err = r.err().strip();
    assertFalse(err.contains("internal error") || err.contains("\tat ") || err.contains("listening on"), err);
    List<String> lines = new ArrayList<>(err.lines().filter(l -> !l.startsWith("Try '")).toList());
    assertEquals(1, lines.size(), err);
    return lines.get(0);
  }

  private void noTempFiles() throws Exception {
    try (Stream<Path> files = Files.walk(tmp)) {
      List<Path> left = files.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList();
      assertTrue(left.isEmpty(), left.toString());
    }
  }

  @Test
  void anOutThatIsAFileIsRefusedBeforeTheJobStartsInEveryMode() throws Exception {
    Path file = Files.writeString(tmp.resolve("afile"), "x");
    for (List<String> head : List.of(
        List.of("train", "--workers", "0"),
        List.of("train", "--workers", "1", "--warmup-passes", "0"),
        List.of("server", "--bind", "127.0.0.1", "--port", "0"))) {
      String line = failsWith(ExitCode.SAVE_FAILED, args(head, args(JOB, List.of("--out", file.toString()))));
      assertTrue(line.endsWith("cannot write --out " + file + ": exists and is not a directory"), line);
    }
    assertEquals("x", Files.readString(file));
  }

  @Test
  void anOutThatCannotBeCreatedGivesTheReason() {
    String line = failsWith(ExitCode.SAVE_FAILED, args(List.of("train", "--workers", "0", "--out", "/proc/nope"), JOB));
    assertTrue(line.equals("gradflow train: cannot write --out /proc/nope: no such file or directory"), line);
  }

  @Test
  void anEmptyOutIsAUsageError() {
    for (String command : List.of("train", "server")) {
      String line = failsWith(ExitCode.USAGE, args(List.of(command, "--out", ""), JOB));
      assertTrue(line.contains("--out \"\": expected a path"), line);
    }
  }

  @Test
  void aServerWhoseOutputFailsAfterItStartedFailsTheJobInsteadOfWaiting() throws Exception {
    Path out = Files.createDirectories(tmp.resolve("partial-in-the-way").resolve("metrics.jsonl.partial").resolve("x"))
        .getParent().getParent();
    Jobs.Run r = assertTimeoutPreemptively(Duration.ofSeconds(120), () -> Jobs.run(
        args(List.of("train", "--workers", "1", "--warmup-passes", "0", "--out", out.toString()), JOB)));
    assertEquals(ExitCode.SAVE_FAILED.code(), r.exitCode(), r.out() + r.err());
    String last = r.err().strip();
    assertTrue(last.contains("cannot save: the job's output") && last.contains("metrics.jsonl.partial: is a directory"), last);
  }

  @Test
  void aPortFileThatCannotBeWrittenIsRefusedBeforeListening() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("pin"));
    String line = failsWith(ExitCode.SAVE_FAILED, args(List.of("server", "--bind", "127.0.0.1", "--port", "0",
        "--port-file", dir.toString(), "--out", tmp.resolve("o").toString()), JOB));
    assertTrue(line.equals("gradflow server: cannot write --port-file " + dir + ": is a directory"), line);
    noTempFiles();
  }

  @Test
  void everyOtherOutputThatIsADirectoryExitsWithTheSameCode() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("pin"));
    Path run = tmp.resolve("run");
    assertEquals(0, Jobs.run(args(List.of("train", "--workers", "0", "--out", run.toString()), JOB)).exitCode());
    Path model = run.resolve("model.gfm");
    Path csv = Files.writeString(tmp.resolve("rows.csv"), "1,2,3,4\n5,6,7,8\n");
    List<List<String>> commands = List.of(
        List.of("explain", "--model", "2-3-2", "-o", dir.toString()),
        List.of("predict", "--model-file", model.toString(), "--input", csv.toString(), "--out", dir.toString()),
        List.of("export", "--model-file", model.toString(), "--out", dir.toString()),
        List.of("report", run.toString(), "--out", dir.toString()),
        args(List.of("submit", "--slurm", "--dry-run", "--jar", "/x/gradflow.jar", "--script", dir.toString()), JOB));
    for (List<String> c : commands) {
      String line = failsWith(ExitCode.SAVE_FAILED, c);
      assertTrue(line.endsWith(" " + dir + ": is a directory") && line.contains("cannot write --"), line);
    }
    noTempFiles();
  }

  @Test
  void aScriptWhereNoFileCanBeGivesTheReason() throws Exception {
    Path file = Files.writeString(tmp.resolve("afile"), "x");
    String line = failsWith(ExitCode.SAVE_FAILED,
        args(List.of("submit", "--slurm", "--dry-run", "--jar", "/x/gradflow.jar", "--script", file.resolve("x.sbatch").toString()), JOB));
    assertTrue(line.contains("cannot write --script " + file.resolve("x.sbatch")) && line.endsWith("is not a directory"), line);
    line = failsWith(ExitCode.SAVE_FAILED, args(List.of("submit", "--slurm", "--dry-run", "--jar", "/x/gradflow.jar", "--script", "/proc/x.sbatch"), JOB));
    assertTrue(line.contains("cannot write --script /proc/x.sbatch: "), line);
  }
}
