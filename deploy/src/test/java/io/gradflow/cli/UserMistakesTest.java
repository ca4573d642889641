package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every user mistake the commands can meet (bad data, a model that does not fit the data, a bad
 * option value, a diverging run) ends with its own exit code and a one-line message without a
 * stack trace; "internal error" is reserved for bugs.
 */
class UserMistakesTest {
  @TempDir Path tmp;

  /** Runs {@code args} in this JVM and checks the exit code and a one-line reason. */
  private static String failsWith(ExitCode code, List<String> args) {
    Jobs.Run r = Jobs.run(args);
    assertEquals(code.code(), r.exitCode(), String.join(" ", args) + "\n" + r.err());
    String err = r.err().strip();
    assertFalse(err.contains("internal error"), err);
    assertFalse(err.contains("\tat "), err);
    List<String> lines = new ArrayList<>(List.of(err.split("\n")));
    lines.removeIf(l -> l.startsWith("Try '"));
    assertEquals(1, lines.size(), err);
    return lines.get(0);
  }

  /** Four IDX files of 2x2 images, 12 train and 6 test; {@code testLabel} at test index 4. */
  private Path idx(int testLabel) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("idx" + testLabel));
    writeImages(dir.resolve("train-images-idx3-ubyte"), 12);
    writeLabels(dir.resolve("train-labels-idx1-ubyte"), 12, -1);
    writeImages(dir.resolve("t10k-images-idx3-ubyte"), 6);
    writeLabels(dir.resolve("t10k-labels-idx1-ubyte"), 6, testLabel);
    return dir;
  }

  private static void writeImages(Path file, int count) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bytes);
    out.writeInt(0x803);
    out.writeInt(count);
    out.writeInt(2);
    out.writeInt(2);
    for (int i = 0; i < count * 4; i++) {
      out.write(i * 37);
    }
    Files.write(file, bytes.toByteArray());
  }

  private static void writeLabels(Path file, int count, int labelAt4) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bytes);
    out.writeInt(0x801);
    out.writeInt(count);
    for (int i = 0; i < count; i++) {
      out.write(i == 4 && labelAt4 >= 0 ? labelAt4 : i % 3);
    }
    Files.write(file, bytes.toByteArray());
  }

  private static List<String> train(String dataset, String model, String... more) {
    return train(0, dataset, model, more);
  }

  private static List<String> train(int workers, String dataset, String model, String... more) {
    List<String> args = new ArrayList<>(List.of("train", "--workers", Integer.toString(workers),
        "--dataset", dataset, "--model", model,
        "--batch", "4", "--micro-shards", "2", "--max-steps", "2"));
    args.addAll(List.of(more));
    return args;
  }

  @Test
  void anIdxTestLabelBeyondTheOutputsIsADataErrorNamingTheLabelsFileAndIndex() throws Exception {
    Path idx = idx(7);
    String line = failsWith(ExitCode.DATA,
        train("idx:" + idx, "4-3-3", "--out", tmp.resolve("o1").toString()));
    assertTrue(line.contains("t10k-labels-idx1-ubyte") && line.contains("index 4")
        && line.contains("label 7"), line);
  }

  @Test
  void aCsvTestLabelBeyondTheOutputsNamesTheTestFile() throws Exception {
    Path trainCsv = tmp.resolve("tr.csv");
    Path testCsv = tmp.resolve("te.csv");
    StringBuilder t = new StringBuilder();
    for (int i = 0; i < 12; i++) {
      t.append(i % 3).append(',').append(i).append(',').append(i * 2 % 5).append('\n');
    }
    Files.writeString(trainCsv, t);
    Files.writeString(testCsv, "0,1,2\n1,2,3\n9,3,4\n");
    String line = failsWith(ExitCode.DATA,
        train("csv:" + trainCsv + "," + testCsv, "2-3-3", "--out", tmp.resolve("o2").toString()));
    assertTrue(line.contains("te.csv") && !line.contains("tr.csv") && line.contains("index 2"), line);
  }

  @Test
  void aModelWhoseInputWidthDoesNotFitTheDataIsAUsageError() throws Exception {
    Path idx = idx(-1);
    for (int workers : new int[] {0, 1}) {
      String line = failsWith(ExitCode.USAGE,
          train(workers, "idx:" + idx, "5-3-3", "--out", tmp.resolve("o3-" + workers).toString()));
      assertTrue(line.contains("--model 5-3-3") && line.contains("4 features"), line);
    }
  }

  @Test
  void evaluatingAModelOfAnotherInputWidthIsAModelFileError() throws Exception {
    Path out = tmp.resolve("spirals");
    List<String> job = new ArrayList<>(List.of("train", "--workers", "0", "--out", out.toString()));
    job.addAll(Jobs.spiralsJob(2));
    assertEquals(0, Jobs.run(job).exitCode());
    String line = failsWith(ExitCode.MODEL_FILE, List.of("evaluate", "--model-file",
        out.resolve("model.gfm").toString(), "--dataset", "idx:" + idx(-1)));
    assertTrue(line.contains("model.gfm") && line.contains("4 features"), line);
  }

  @Test
  void evaluatingAModelWithFewerOutputsThanALabelNamesTheLabelsFile() throws Exception {
    Path out = tmp.resolve("three-classes");
    List<String> job = train("idx:" + idx(-1), "4-3-3", "--out", out.toString());
    assertEquals(0, Jobs.run(job).exitCode());
    String line = failsWith(ExitCode.MODEL_FILE, List.of("evaluate", "--model-file",
        out.resolve("model.gfm").toString(), "--dataset", "idx:" + idx(7)));
    assertTrue(line.contains("model.gfm") && line.contains("3 outputs") && line.contains("t10k-labels-idx1-ubyte")
        && line.contains("label 7 at index 4"), line);
  }

  @Test
  void aMetricsPortOutsideTheRangeIsAUsageError() {
    String line = failsWith(ExitCode.USAGE, List.of("train", "--workers", "0", "--metrics-port", "70000",
        "--dataset", "spirals", "--out", tmp.resolve("m").toString()));
    assertTrue(line.contains("--metrics-port 70000 is not a port"), line);
  }

  @Test
  void aReportOfWhatIsNoRunNamesItAsAUsageError() throws Exception {
    Path notARun = Files.createDirectories(tmp.resolve("empty"));
    String line = failsWith(ExitCode.USAGE, List.of("report", notARun.toString(), "--out", tmp.resolve("r.html").toString()));
    assertTrue(line.equals("gradflow report: " + notARun + ": no metrics.jsonl (expected a run's --out directory)"), line);
    line = failsWith(ExitCode.USAGE, List.of("report", tmp.resolve("missing").toString()));
    assertTrue(line.contains(tmp.resolve("missing") + ": not a directory"), line);
    Path corrupt = Files.createDirectories(tmp.resolve("corrupt"));
    Files.writeString(corrupt.resolve("metrics.jsonl"), "{\"type\":\"step\",\"step\":\"x\"}\n");
    line = failsWith(ExitCode.FAILED, List.of("report", corrupt.toString(), "--out", tmp.resolve("r.html").toString()));
    assertTrue(line.contains("metrics.jsonl line 1"), line);
  }

  @Test
  void aPushThreadWithoutWorkerProcessesIsAUsageErrorNotIgnored() {
    for (String option : List.of("--push-thread", "--no-push-thread")) {
      String line = failsWith(ExitCode.USAGE, List.of("train", "--workers", "0", option, "--dataset", "spirals",
          "--out", tmp.resolve("p" + option).toString()));
      assertTrue(line.contains(option + " needs worker processes"), line);
    }
  }

  @Test
  void aStalenessOutsideItsRangeIsAUsageErrorOfEveryCommand() {
    for (String k : List.of("9", "-1")) {
      for (List<String> command : List.of(
          List.of("train", "--workers", "0", "--dataset", "spirals", "--out", tmp.resolve("k" + k).toString()),
          List.of("server", "--dataset", "spirals", "--out", tmp.resolve("ks" + k).toString()),
          List.of("bench", "--workers", "0", "--steps", "2"))) {
        List<String> args = new ArrayList<>(command);
        args.addAll(List.of("--staleness", k));
        String line = failsWith(ExitCode.USAGE, args);
        assertEquals("--staleness " + k + ": expected 0..8", line.substring(line.indexOf("--staleness")), command.get(0));
      }
    }
  }

  @Test
  void aPortOutsideTheRangeIsAUsageError() {
    for (String port : List.of("70000", "-1")) {
      String line = failsWith(ExitCode.USAGE, List.of("server", "--port", port, "--dataset", "spirals",
          "--out", tmp.resolve("s" + port).toString()));
      assertTrue(line.contains("--port " + port), line);
    }
  }

  @Test
  void aDivergingRunNamesTheStepAndSuggestsALowerLearningRate() {
    for (int workers : new int[] {0, 1}) {
      List<String> job = new ArrayList<>(List.of("train", "--workers", Integer.toString(workers),
          "--out", tmp.resolve("nan" + workers).toString()));
      job.addAll(Jobs.spiralsJob(50));
      job.addAll(List.of("--lr", "1e6"));
      String line = failsWith(ExitCode.FAILED, job);
      assertTrue(line.matches(".*at step \\d+.*") && line.contains("lower --lr"), line);
    }
  }

  /**
   * A worker whose gradient leaves the fixed-point range stops the job: the launcher says the
   * training diverged and starts no replacement for that worker.
   */
  @Test
  void aWorkerWhoseGradientDivergesStopsTheJobWithoutAReplacement() {
    Jobs.Run r = Jobs.run(List.of("train", "--workers", "1", "--dataset", "blobs:3:300:4:60", "--model", "4-8-3", "--epochs", "1",
        "--batch", "32", "--lr", "1e6", "--warmup-passes", "0", "--out", tmp.resolve("diverged").toString()));
    assertEquals(ExitCode.FAILED.code(), r.exitCode(), r.out() + r.err());
    assertTrue(r.err().contains("expected a finite value below") && r.err().contains("the training diverged: try a lower --lr"),
        r.err());
    assertFalse(r.out().contains("starting a replacement"), r.out());
  }

  @Test
  void anOutThatIsAFileSaysSo() throws Exception {
    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    List<String> job = new ArrayList<>(List.of("train", "--workers", "0", "--out", file.toString()));
    job.addAll(Jobs.spiralsJob(2));
    String line = failsWith(ExitCode.SAVE_FAILED, job);
    assertTrue(line.equals("gradflow train: cannot write --out " + file + ": exists and is not a directory"), line);
  }

  @Test
  void aCorruptModelFileShowsTwoDifferentChecksums() throws Exception {
    Path out = tmp.resolve("corrupt");
    List<String> job = new ArrayList<>(List.of("train", "--workers", "0", "--out", out.toString()));
    job.addAll(Jobs.spiralsJob(2));
    assertEquals(0, Jobs.run(job).exitCode());
    Path model = out.resolve("model.gfm");
    byte[] bytes = Files.readAllBytes(model);
    bytes[bytes.length - 1] ^= 1; // the last checksum byte: the first 8 bytes still agree
    Files.write(model, bytes);
    String line = failsWith(ExitCode.MODEL_FILE,
        List.of("evaluate", "--model-file", model.toString(), "--dataset", "spirals"));
    java.util.regex.Matcher m = java.util.regex.Pattern
        .compile("payload is ([0-9a-f]+), the file says ([0-9a-f]+)").matcher(line);
    assertTrue(m.find(), line);
    assertTrue(!m.group(1).equals(m.group(2)), line);
  }

  @Test
  void badShardedServerOptionsAreUsageErrorsOfOneLine() {
    List<String> job = List.of("--dataset", "spirals", "--model", "2-24-24-3", "--max-steps", "2", "--out", tmp.resolve("s").toString());
    List<String> args = new ArrayList<>(List.of("train", "--workers", "2", "--servers", "0"));
    args.addAll(job);
    assertTrue(failsWith(ExitCode.USAGE, args).contains("--servers must be >= 1"));
    args = new ArrayList<>(List.of("train", "--workers", "0", "--servers", "2"));
    args.addAll(job);
    assertTrue(failsWith(ExitCode.USAGE, args).contains("needs worker processes"));
    args = new ArrayList<>(List.of("train", "--workers", "2", "--servers", "7"));
    args.addAll(job);
    String line = failsWith(ExitCode.USAGE, args);
    assertTrue(line.contains("--servers 7: model 2-24-24-3 is too small to shard") && line.contains("6 chunk(s)"), line);
    args = new ArrayList<>(List.of("server", "--servers", "2", "--server-index", "2", "--port", "0"));
    args.addAll(job);
    assertTrue(failsWith(ExitCode.USAGE, args).contains("--server-index 2: expected 0..1"));
    args = new ArrayList<>(List.of("server", "--servers", "2", "--port", "0"));
    args.addAll(job);
    assertTrue(failsWith(ExitCode.USAGE, args).contains("needs 1 --range-server"));
  }

  /** NaN, infinities and values out of range of the optimizer's options are usage errors naming option and value. */
  @Test
  void optimizerValuesOutOfRangeOrNaNAreUsageErrorsNamingOptionAndValue() {
    String[][] bad = {
      {"--lr", "NaN"}, {"--lr", "0"}, {"--lr", "-1"}, {"--lr", "Infinity"},
      {"--momentum", "NaN"}, {"--momentum", "-0.5"}, {"--momentum", "1.5"},
      {"--weight-decay", "NaN"}, {"--weight-decay", "-1"}, {"--weight-decay", "Infinity"},
      {"--gamma", "NaN"}, {"--gamma", "-5"}, {"--gamma", "0"}, {"--gamma", "2"},
      {"--warmup", "-1"}, {"--step-size", "-2"}};
    for (String[] option : bad) {
      List<String> job = new ArrayList<>(List.of("train", "--workers", "0",
          "--out", tmp.resolve("opt" + option[0] + option[1]).toString()));
      job.addAll(Jobs.spiralsJob(2));
      job.addAll(List.of("--schedule", "step", "--step-size", "1", option[0], option[1]));
      String line = failsWith(ExitCode.USAGE, job);
      assertTrue(line.contains(option[0] + " must be") && (line.endsWith("got " + option[1])
          || line.endsWith("got " + Double.parseDouble(option[1]))), line);
      assertFalse(Files.exists(tmp.resolve("opt" + option[0] + option[1]).resolve("model.gfm")), line);
    }
  }

  /** A worker's and a server's timings out of range are usage errors naming the option and the value given. */
  @Test
  void timingsOutOfRangeAreUsageErrorsNamingOptionAndValue() {
    String[][] worker = {
      {"--rpc-timeout", "0"}, {"--rpc-timeout", "-5"}, {"--rpc-timeout", "NaN"},
      {"--reconnect-seconds", "-1"}, {"--reconnect-seconds", "NaN"},
      {"--heartbeat-ms", "0"}, {"--heartbeat-ms", "-5"}, {"--push-delay-ms", "-1"}, {"--push-jitter-ms", "-3"}};
    for (String[] option : worker) {
      String line = failsWith(ExitCode.USAGE, List.of("worker", "--server", "127.0.0.1:1", option[0], option[1]));
      assertTrue(line.contains(option[0] + " " + option[1]) || line.contains(option[0] + " " + Double.parseDouble(option[1])), line);
    }
    String line = failsWith(ExitCode.USAGE, List.of("server", "--port", "0", "--dataset", "spirals",
        "--worker-timeout", "NaN", "--out", tmp.resolve("wt").toString()));
    assertTrue(line.contains("--worker-timeout NaN"), line);
  }

  /**
   * train range-checks every option whatever the worker count, and refuses an option that only a
   * job with worker processes uses when it is given with --workers 0.
   */
  @Test
  void trainChecksEveryOptionWhateverTheWorkerCount() {
    String[][] outOfRange = {
      {"--server-port", "99999", "--server-port 99999"}, {"--max-restarts", "-7", "--max-restarts -7"},
      {"--push-jitter-ms", "-3", "--push-jitter-ms -3"}, {"--worker-timeout", "-4", "--worker-timeout -4.0"},
      {"--min-workers", "0", "--min-workers 0"}, {"--fault", "bogus", "bogus"},
      {"--log-every", "0", "--log-every 0"}, {"--log-every", "-1", "--log-every -1"},
      {"--progress-seconds", "NaN", "--progress-seconds NaN"}, {"--progress-seconds", "-1", "--progress-seconds -1.0"}};
    for (int workers : new int[] {0, 1}) {
      for (String[] option : outOfRange) {
        List<String> job = new ArrayList<>(List.of("train", "--workers", Integer.toString(workers),
            "--out", tmp.resolve("r" + workers + option[0] + option[1]).toString()));
        job.addAll(Jobs.spiralsJob(2));
        job.addAll(List.of(option[0], option[1]));
        String line = failsWith(ExitCode.USAGE, job);
        assertTrue(line.contains(option[2]), line);
      }
    }
    List<String> faulty = new ArrayList<>(List.of("train", "--workers", "0", "--out", tmp.resolve("fault").toString()));
    faulty.addAll(Jobs.spiralsJob(2));
    faulty.addAll(List.of("--fault", "kill-server@3"));
    assertTrue(failsWith(ExitCode.USAGE, faulty).contains("--fault needs worker processes (--workers N, N >= 1)"));
    // the recovery settings in range are allowed: the same command line with --workers 0 is the baseline run
    List<String> baseline = new ArrayList<>(List.of("train", "--workers", "0", "--out", tmp.resolve("baseline").toString()));
    baseline.addAll(Jobs.spiralsJob(2));
    baseline.addAll(List.of("--min-workers", "2", "--worker-timeout", "4", "--max-restarts", "1", "--push-jitter-ms", "3",
        "--checkpoint-every", "5", "--backup-workers", "1"));
    Jobs.Run r = Jobs.run(baseline);
    assertEquals(0, r.exitCode(), r.err());
    // --server-port is for --hosts: a local job would not listen there
    for (int workers : new int[] {0, 2}) {
      List<String> local = new ArrayList<>(List.of("train", "--workers", Integer.toString(workers), "--out",
          tmp.resolve("port" + workers).toString(), "--server-port", "7070"));
      local.addAll(Jobs.spiralsJob(2));
      assertTrue(failsWith(ExitCode.USAGE, local).contains("--server-port needs --hosts"));
    }
  }

  /** An unknown option is reported as such, not hidden behind a required option that is missing too. */
  @Test
  void anUnknownOptionIsNamedBeforeAMissingRequiredOne() {
    for (String command : List.of("worker", "evaluate", "predict", "export", "report", "train")) {
      String line = failsWith(ExitCode.USAGE, List.of(command, "--bogus"));
      assertTrue(line.contains("Unknown option: '--bogus'"), line);
    }
  }

  /** --resume of a checkpoint file (not its directory) says a directory is expected, naming the file. */
  @Test
  void resumingACheckpointFileSaysADirectoryIsExpected() throws Exception {
    Path ckpt = Files.createDirectories(tmp.resolve("run1/checkpoints")).resolve("ckpt-000000000009.gfc");
    Files.writeString(ckpt, "not read: the option is refused before");
    for (String option : List.of("--resume", "--resume-if-any")) {
      String line = failsWith(ExitCode.USAGE, List.of("server", "--port", "0", option, ckpt.toString()));
      assertTrue(line.contains(option + " " + ckpt + " is a file: expected a directory"), line);
    }
  }

  /** --resume of a directory that does not exist is a usage error, and does not create it. */
  @Test
  void resumingADirectoryThatDoesNotExistIsRefusedAndNotCreated() {
    Path none = tmp.resolve("none");
    String line = failsWith(ExitCode.USAGE, List.of("server", "--port", "0", "--resume", none.toString()));
    assertTrue(line.contains("--resume " + none + ": no such directory"), line);
    assertFalse(Files.exists(none), none + " was created");
  }

  /**
   * A job refused for a usage mistake found after its output directory was made (the checks
   * against the data, --min-workers against --workers, a worker process's own refusal) removes
   * the directory it created, with the refused server's log; a directory that was there stays,
   * with what it held.
   */
  @Test
  void aRefusedJobLeavesNoOutputDirectoryBehind() throws Exception {
    Path out = tmp.resolve("runs/refused");
    List<List<String>> refused = List.of(
        List.of("train", "--workers", "2", "--min-workers", "3"),
        List.of("train", "--workers", "0", "--model", "5-3"),
        List.of("train", "--workers", "1", "--model", "5-3"),
        List.of("server", "--port", "0", "--model", "5-3"));
    for (List<String> args : refused) {
      List<String> withOut = new ArrayList<>(args);
      withOut.addAll(List.of("--out", out.toString()));
      failsWith(ExitCode.USAGE, withOut);
      assertFalse(Files.exists(tmp.resolve("runs")), String.join(" ", args) + " left " + tmp.resolve("runs"));
    }
    Path kept = Files.createDirectories(tmp.resolve("kept"));
    Files.writeString(kept.resolve("notes.txt"), "mine");
    failsWith(ExitCode.USAGE, List.of("train", "--workers", "2", "--min-workers", "3", "--out", kept.toString()));
    assertEquals("mine", Files.readString(kept.resolve("notes.txt")));
  }

  /**
   * A worker on a machine whose own host name does not resolve (a container without its name in
   * /etc/hosts) still starts: the name is only its label in the server's log. Here the server is
   * unreachable, so it exits 6 for that, not with an internal error.
   */
  @Test
  void aWorkerWhoseHostNameDoesNotResolveStillRuns() throws Exception {
    Path hosts = Files.writeString(tmp.resolve("hosts"), "127.0.0.1 localhost\n");
    List<String> cmd = new ArrayList<>(JvmCommand.thisProgram());
    cmd.add(1, "-Djdk.net.hosts.file=" + hosts);
    cmd.addAll(List.of("worker", "--server", "127.0.0.1:1", "--reconnect-seconds", "0"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(ExitCode.UNAVAILABLE.code(), p.waitFor(), out);
    assertFalse(out.contains("internal error"), out);
  }
}
