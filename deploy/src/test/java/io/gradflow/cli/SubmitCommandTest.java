package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gradflow submit --slurm}: the job script it writes, and its usage errors (no Slurm needed). */
class SubmitCommandTest {
  @TempDir Path tmp;

  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void bundledTemplateIsTheOneInDeploySlurm() throws Exception {
    assertEquals(Files.readString(Path.of("slurm", "gradflow.sbatch")), SlurmScript.template());
  }

  @Test
  void dryRunWritesAScriptWithTheResourcesAndTheJob() throws Exception {
    Path script = tmp.resolve("job.sbatch");
    Path jar = tmp.resolve("shared dir/gradflow.jar");
    Run r = run("submit", "--slurm", "--dry-run", "--nodes", "2", "--servers", "2", "--partition", "gpu",
        "--time", "1:00:00", "--sbatch-opt=--gres=gpu:1", "--jar", jar.toString(), "--java", "/opt/jdk/bin/java",
        "--script", script.toString(), "--out", tmp.resolve("out").toString(),
        "--dataset", "spirals", "--model", "2-16-16-3", "--activation", "tanh", "--batch", "60", "--micro-shards", "6");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("sbatch --parsable " + script), r.out());
    String text = Files.readString(script);
    List<String> directives = text.lines().filter(l -> l.startsWith("#SBATCH ")).toList();
    assertEquals(List.of(
        "#SBATCH --job-name=gradflow",
        "#SBATCH --nodes=2",
        "#SBATCH --ntasks=4", // nodes + servers: one worker per node
        "#SBATCH --requeue",
        "#SBATCH --open-mode=append",
        "#SBATCH --output=gradflow-%j.out",
        "#SBATCH --partition=gpu",
        "#SBATCH --time=1:00:00",
        "#SBATCH --gres=gpu:1"), directives);
    assertTrue(text.contains("GRADFLOW_JAR=${GRADFLOW_JAR:-'" + jar + "'}"), text);
    assertTrue(text.contains("GRADFLOW_JAVA=${GRADFLOW_JAVA:-/opt/jdk/bin/java}"), text);
    assertTrue(text.contains("SERVERS=${GRADFLOW_SERVERS:-2}"), text);
    assertTrue(text.contains("SECURE=${GRADFLOW_SECURE:-0}"), "plaintext unless --secure: " + text);
    assertTrue(text.contains("JOB_ARGS=(--model 2-16-16-3 --activation tanh --dataset spirals "), text);
    assertTrue(text.contains("--micro-shards 6"), text);
    assertFalse(text.contains(SlurmScript.MARKER), "every placeholder is filled in");
    assertTrue(Files.isExecutable(script));
    Prerequisites.need(onPath("bash"), "no bash");
    Process check = new ProcessBuilder("bash", "-n", script.toString()).redirectErrorStream(true).start();
    assertTrue(check.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, check.exitValue(), new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
  }

  @Test
  void secureMakesTheScriptRunEveryServerAndWorkerWithTlsAndTheToken() throws Exception {
    Path script = tmp.resolve("secure.sbatch");
    Run r = run("submit", "--slurm", "--dry-run", "--secure", "--jar", "/x/gradflow.jar", "--script", script.toString(),
        "--dataset", "spirals");
    assertEquals(0, r.code(), r.err());
    String text = Files.readString(script);
    assertTrue(text.contains("SECURE=${GRADFLOW_SECURE:-1}"), text);
    // what the script passes is what gradflow credentials writes
    SecureJobFiles files = new SecureJobFiles(Path.of("$OUT/secure"));
    assertTrue(text.contains("credentials --out \"$OUT/secure\""), text);
    for (String flag : List.of("--tls-cert", "--tls-key", "--tls-ca", "--token-file")) {
      String server = files.serverArgs().get(files.serverArgs().indexOf(flag) + 1);
      assertTrue(text.contains(flag + " \"" + server + "\""), flag + " " + server + " for the servers: " + text);
    }
    for (String flag : List.of("--tls-ca", "--tls-cert", "--tls-key", "--token-file")) {
      String worker = files.workerArgs().get(files.workerArgs().indexOf(flag) + 1);
      assertTrue(text.contains(flag + " \"" + worker + "\""), flag + " " + worker + " for the workers: " + text);
    }
  }

  @Test
  void theScriptRefusesToRunOutsideSlurm() throws Exception {
    Prerequisites.need(onPath("bash"), "no bash");
    Path script = tmp.resolve("job.sbatch");
    assertEquals(0, run("submit", "--slurm", "--dry-run", "--jar", "/x/gradflow.jar", "--script", script.toString(),
        "--dataset", "spirals").code());
    ProcessBuilder pb = new ProcessBuilder("bash", script.toString()).redirectErrorStream(true);
    pb.environment().remove("SLURM_JOB_ID");
    Process p = pb.start();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(2, p.exitValue(), out);
    assertTrue(out.contains("not inside a Slurm job"), out);
  }

  @Test
  void shellQuotingRoundTrips() throws Exception {
    Prerequisites.need(onPath("sh"), "no sh");
    List<String> words = List.of("plain", "with space", "it's", "$HOME", "a\"b", "", "*", "--x=1,2");
    Process p = new ProcessBuilder("sh", "-c", "for a in " + ShellWords.join(words) + "; do printf '[%s]' \"$a\"; done")
        .redirectErrorStream(true).start();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertEquals("[plain][with space][it's][$HOME][a\"b][][*][--x=1,2]",
        new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
  }

  @Test
  void badRequestsAreOneLineUsageErrors() {
    String jar = "--jar=/x/gradflow.jar";
    Run noEngine = run("submit", jar, "--dry-run", "--dataset", "spirals");
    assertEquals(ExitCode.USAGE.code(), noEngine.code());
    assertTrue(noEngine.err().lines().findFirst().orElseThrow().contains("choose a scheduler: --slurm"), noEngine.err());

    Run oneTask = run("submit", "--slurm", jar, "--dry-run", "--ntasks", "1", "--script", tmp.resolve("a").toString());
    assertEquals(ExitCode.USAGE.code(), oneTask.code());
    assertTrue(oneTask.err().contains("--ntasks must be >= 2"), oneTask.err());

    Run tooMany = run("submit", "--slurm", jar, "--dry-run", "--ntasks", "10", "--batch", "60", "--micro-shards", "6",
        "--script", tmp.resolve("b").toString());
    assertEquals(ExitCode.USAGE.code(), tooMany.code());
    assertTrue(tooMany.err().contains("9 workers, more than --micro-shards 6"), tooMany.err());

    Run noWorker = run("submit", "--slurm", jar, "--dry-run", "--servers", "2", "--ntasks", "2", "--script", tmp.resolve("f").toString());
    assertEquals(ExitCode.USAGE.code(), noWorker.code());
    assertTrue(noWorker.err().contains("--ntasks must be >= 3 (2 parameter server(s) plus at least one worker), got 2"), noWorker.err());

    Run tooSmall = run("submit", "--slurm", jar, "--dry-run", "--servers", "9", "--model", "2-4-3", "--script", tmp.resolve("g").toString());
    assertEquals(ExitCode.USAGE.code(), tooSmall.code());
    assertTrue(tooSmall.err().contains("--servers 9: model 2-4-3 is too small to shard"), tooSmall.err());

    Run badOpt = run("submit", "--slurm", jar, "--dry-run", "--sbatch-opt", "gres", "--script", tmp.resolve("c").toString());
    assertEquals(ExitCode.USAGE.code(), badOpt.code());

    Run badModel = run("submit", "--slurm", jar, "--dry-run", "--model", "2-x-3", "--script", tmp.resolve("d").toString());
    assertEquals(ExitCode.USAGE.code(), badModel.code());
    assertFalse(Files.exists(tmp.resolve("d")), "nothing is written for a bad request");

    // what train and server refuse, submit refuses too, before any script is written
    String[][] refused = {
      {"--dataset", "nosuch", "unknown dataset 'nosuch'"},
      {"--dataset", "blobs:0", "CLASSES 0 must be positive"},
      {"--momentum", "NaN", "--momentum must be in [0, 1), got NaN"},
      {"--gamma", "-5", "--gamma must be a decay factor in (0, 1], got -5.0"},
      {"--cpus-per-task", "0", "--cpus-per-task must be >= 1, got 0"},
      {"--log-every", "0", "--log-every 0: expected 1 or more steps"},
      {"--metrics-port", "70000", "--metrics-port 70000 is not a port"}};
    for (String[] bad : refused) {
      Path script = tmp.resolve("bad" + bad[0] + bad[1]);
      Run r = run("submit", "--slurm", jar, "--dry-run", bad[0], bad[1], "--script", script.toString());
      assertEquals(ExitCode.USAGE.code(), r.code(), r.err());
      assertTrue(r.err().lines().findFirst().orElseThrow().contains(bad[2]), r.err());
      assertFalse(Files.exists(script), "nothing is written for " + bad[0] + " " + bad[1]);
    }
  }

  /** Whether {@code program} is an executable on the PATH. */
  static boolean onPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String dir : path.split(java.io.File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
        return true;
      }
    }
    return false;
  }

  @Test
  void withoutTheJarTheJarMustBeGiven() {
    assumeTrue(JvmCommand.runningJar().isEmpty(), "runs from the jar (as under failsafe), which is the default");
    Run r = run("submit", "--slurm", "--dry-run", "--script", tmp.resolve("e").toString());
    assertEquals(ExitCode.USAGE.code(), r.code());
    assertTrue(r.err().contains("give --jar PATH"), r.err());
  }
}
