package io.gradflow.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code gradflow submit --slurm}: writes a job script from {@code deploy/slurm/gradflow.sbatch}
 * (bundled in the jar) with this job's options and resources filled in, and submits it with
 * {@code sbatch}. The parameter server runs on the first node of the allocation, one worker per
 * remaining task.
 */
@Command(
    name = "submit",
    mixinStandardHelpOptions = true,
    description = "Submit a training job to a cluster scheduler: with --slurm, write a job script from "
        + "the bundled gradflow.sbatch and run sbatch (one parameter server plus ntasks-1 workers).")
final class SubmitCommand implements Callable<Integer> {
  /** Where the template lives in the jar (copied there from deploy/slurm/ by the build). */
  static final String TEMPLATE_RESOURCE = "/io/gradflow/cli/slurm/gradflow.sbatch";

  /** Template lines ending with this marker and a key are replaced by submit. */
  static final String MARKER = "# gradflow-submit:";

  @Spec CommandSpec spec;

  @Mixin JobOptions job;

  @Option(names = "--slurm", description = "Submit to Slurm with sbatch (the only engine so far).")
  boolean slurm;

  @Option(names = "--nodes", paramLabel = "N", description = "Nodes to allocate (default: ${DEFAULT-VALUE}).")
  int nodes = 1;

  @Option(
      names = "--ntasks",
      paramLabel = "N",
      description = "Tasks: one parameter server plus N-1 workers (default: nodes + 1, one worker per node).")
  Integer ntasks;

  @Option(names = "--partition", paramLabel = "P", description = "Slurm partition (default: the cluster's).")
  String partition;

  @Option(names = "--time", paramLabel = "LIMIT", description = "Time limit, e.g. 2:00:00 (default: the partition's).")
  String time;

  @Option(names = "--account", paramLabel = "A", description = "Account to charge.")
  String account;

  @Option(names = "--cpus-per-task", paramLabel = "C", description = "CPUs for each server and worker task.")
  Integer cpusPerTask;

  @Option(names = "--mem", paramLabel = "SIZE", description = "Memory per node, e.g. 8G.")
  String mem;

  @Option(names = "--job-name", paramLabel = "NAME", description = "Slurm job name (default: ${DEFAULT-VALUE}).")
  String jobName = "gradflow";

  @Option(
      names = "--sbatch-opt",
      paramLabel = "OPT",
      description = "Extra sbatch option for the script, repeatable; write it with '=': --sbatch-opt=--gres=gpu:1.")
  List<String> sbatchOpts = new ArrayList<>();

  @Option(
      names = "--jar",
      paramLabel = "PATH",
      description = "The gradflow jar as the compute nodes see it (default: this jar; it must be on a shared filesystem).")
  Path jar;

  @Option(names = "--java", paramLabel = "PATH", description = "java on the compute nodes (default: the java running this command).")
  String java;

  @Option(
      names = "--out",
      paramLabel = "DIR",
      description = "Output directory, on a shared filesystem (default: gradflow-<jobid> in the submit directory).")
  Path out;

  @Option(names = "--log-every", paramLabel = "STEPS", description = "Server: a metrics record every STEPS steps (default: ${DEFAULT-VALUE}).")
  int logEvery = 10;

  @Option(names = "--script", paramLabel = "FILE", description = "Where to write the job script (default: gradflow-<time>.sbatch here).")
  Path script;

  @Option(names = "--dry-run", description = "Write the job script and print the sbatch command; submit nothing.")
  boolean dryRun;

  @Option(names = "--wait", description = "Wait for the job to end (sbatch --wait); exit with its exit code.")
  boolean await;

  @Override
  public Integer call() throws IOException, InterruptedException {
    if (!slurm) {
      throw new ParameterException(spec.commandLine(), "choose a scheduler: --slurm (the only one so far)");
    }
    if (nodes < 1) {
      throw new ParameterException(spec.commandLine(), "--nodes must be >= 1, got " + nodes);
    }
    int tasks = ntasks != null ? ntasks : nodes + 1;
    if (tasks < 2) {
      throw new ParameterException(spec.commandLine(),
          "--ntasks must be >= 2 (one parameter server plus at least one worker), got " + tasks);
    }
    if (tasks < nodes) {
      throw new ParameterException(spec.commandLine(), "--ntasks " + tasks + " is less than --nodes " + nodes);
    }
    job.modelSpec();
    int microShards = job.trainingConfig().microShards();
    if (tasks - 1 > microShards) {
      throw new ParameterException(spec.commandLine(), "--ntasks " + tasks + " makes " + (tasks - 1)
          + " workers, more than --micro-shards " + microShards + ": raise --micro-shards to at least the worker count");
    }
    for (String o : sbatchOpts) {
      if (!o.startsWith("-") || o.contains("\n")) {
        throw new ParameterException(spec.commandLine(), "--sbatch-opt '" + o + "': expected an sbatch option such as --gres=gpu:1");
      }
    }
    Path jarPath = jar != null ? jar.toAbsolutePath() : runningJar().orElseThrow(() -> new ParameterException(
        spec.commandLine(), "not running from the gradflow jar: give --jar PATH (the jar as the compute nodes see it)"));
    String javaPath = java != null ? java : currentJava();

    Map<String, String> directives = new LinkedHashMap<>();
    directives.put("--job-name", jobName);
    directives.put("--nodes", Integer.toString(nodes));
    directives.put("--ntasks", Integer.toString(tasks));
    put(directives, "--partition", partition);
    put(directives, "--time", time);
    put(directives, "--account", account);
    put(directives, "--cpus-per-task", cpusPerTask == null ? null : cpusPerTask.toString());
    put(directives, "--mem", mem);
    Map<String, String> values = new LinkedHashMap<>();
    values.put("jar", "GRADFLOW_JAR=${GRADFLOW_JAR:-" + shellQuote(jarPath.toString()) + "}");
    values.put("java", "GRADFLOW_JAVA=${GRADFLOW_JAVA:-" + shellQuote(javaPath) + "}");
    values.put("out", "GRADFLOW_OUT=${GRADFLOW_OUT:-" + (out == null ? "" : shellQuote(out.toAbsolutePath().toString())) + "}");
    values.put("job-args", "JOB_ARGS=(" + shellWords(job.toArgs()) + ")");
    values.put("server-args", "SERVER_ARGS=(" + shellWords(List.of("--log-every", Integer.toString(logEvery))) + ")");
    String text = render(template(), directives, sbatchOpts, values);

    Path file = script != null ? script : Path.of("gradflow-" + TrainCommand.timestamp() + ".sbatch");
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    Files.writeString(file, text, StandardCharsets.UTF_8);
    file.toFile().setExecutable(true);

    List<String> cmd = new ArrayList<>(List.of("sbatch", "--parsable"));
    if (await) {
      cmd.add("--wait");
    }
    cmd.add(file.toString());
    PrintWriter stdout = spec.commandLine().getOut();
    stdout.println("wrote " + file);
    if (dryRun) {
      stdout.println(String.join(" ", cmd));
      stdout.flush();
      return ExitCode.OK.code();
    }
    stdout.flush();
    return sbatch(cmd);
  }

  private int sbatch(List<String> cmd) throws IOException, InterruptedException {
    Process p;
    try {
      p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new CommandFailure(ExitCode.FAILED,
          "cannot run sbatch (" + e.getMessage() + "): run gradflow submit on a Slurm login node");
    }
    p.getOutputStream().close();
    PrintWriter stdout = spec.commandLine().getOut();
    String jobId = null;
    String last = "";
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (jobId == null && line.matches("\\d+(;\\S+)?")) {
          jobId = line.split(";")[0];
          String where = out != null ? out.toAbsolutePath().toString()
              : Path.of("").toAbsolutePath().resolve("gradflow-" + jobId).toString();
          stdout.println("submitted Slurm job " + jobId + "; outputs in " + where
              + (await ? "; waiting for it to end" : ""));
          stdout.flush();
        } else if (!line.isBlank()) {
          last = line.trim();
          stdout.println(line);
          stdout.flush();
        }
      }
    }
    int code = p.waitFor();
    if (jobId == null) {
      throw new CommandFailure(ExitCode.FAILED, "sbatch failed with code " + code + ": " + last);
    }
    if (code != 0) {
      throw new CommandFailure(ExitCode.FAILED, "Slurm job " + jobId + " ended with code " + code
          + " (see gradflow-" + jobId + ".out and the logs/ of its output directory)");
    }
    if (await) {
      stdout.println("Slurm job " + jobId + " done");
      stdout.flush();
    }
    return ExitCode.OK.code();
  }

  private static void put(Map<String, String> m, String key, String value) {
    if (value != null) {
      m.put(key, value);
    }
  }

  /** The bundled template. */
  static String template() throws IOException {
    try (InputStream in = SubmitCommand.class.getResourceAsStream(TEMPLATE_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("gradflow.sbatch is missing from the jar (" + TEMPLATE_RESOURCE + ")");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /**
   * The template with its {@code #SBATCH} block replaced (the template's directives, overridden
   * and extended by {@code directives}, then {@code extra}) and every {@code # gradflow-submit:KEY}
   * line replaced by {@code values.get(KEY)}.
   */
  static String render(String template, Map<String, String> directives, List<String> extra, Map<String, String> values) {
    Map<String, String> merged = new LinkedHashMap<>();
    List<String> lines = template.lines().toList();
    for (String line : lines) {
      if (line.startsWith("#SBATCH ")) {
        String opt = line.substring("#SBATCH ".length()).trim();
        int eq = opt.indexOf('=');
        merged.put(eq < 0 ? opt : opt.substring(0, eq), eq < 0 ? null : opt.substring(eq + 1));
      }
    }
    merged.putAll(directives);
    StringBuilder sb = new StringBuilder();
    boolean directivesWritten = false;
    for (String line : lines) {
      if (line.startsWith("#SBATCH ")) {
        if (!directivesWritten) {
          for (Map.Entry<String, String> e : merged.entrySet()) {
            sb.append("#SBATCH ").append(e.getKey());
            if (e.getValue() != null) {
              sb.append('=').append(e.getValue());
            }
            sb.append('\n');
          }
          for (String o : extra) {
            sb.append("#SBATCH ").append(o).append('\n');
          }
          directivesWritten = true;
        }
        continue;
      }
      int m = line.indexOf(MARKER);
      if (m >= 0) {
        String key = line.substring(m + MARKER.length()).trim();
        String value = values.get(key);
        if (value == null) {
          throw new IllegalStateException("gradflow.sbatch: no value for " + MARKER + key);
        }
        sb.append(value).append("  # set by gradflow submit\n");
        continue;
      }
      sb.append(line).append('\n');
    }
    return sb.toString();
  }

  /** {@code s} as one POSIX shell word. */
  static String shellQuote(String s) {
    if (!s.isEmpty() && s.matches("[A-Za-z0-9_./:=@%+,-]+")) {
      return s;
    }
    return "'" + s.replace("'", "'\\''") + "'";
  }

  static String shellWords(List<String> words) {
    List<String> q = new ArrayList<>();
    for (String w : words) {
      q.add(shellQuote(w));
    }
    return String.join(" ", q);
  }

  /** The jar this class was loaded from, when it was loaded from a jar. */
  static Optional<Path> runningJar() {
    try {
      var source = SubmitCommand.class.getProtectionDomain().getCodeSource();
      if (source == null) {
        return Optional.empty();
      }
      Path p = Path.of(source.getLocation().toURI());
      return Files.isRegularFile(p) && p.toString().endsWith(".jar") ? Optional.of(p.toAbsolutePath()) : Optional.empty();
    } catch (URISyntaxException | IllegalArgumentException | SecurityException e) {
      return Optional.empty();
    }
  }

  /** The java binary running this JVM. */
  static String currentJava() {
    return ProcessHandle.current().info().command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
  }
}
