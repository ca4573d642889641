package io.gradflow.cli;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.train.TrainingConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gradflow submit --slurm}: writes a job script from {@code deploy/slurm/gradflow.sbatch}
 * (bundled in the jar) with this job's options and resources filled in, and submits it with
 * {@code sbatch}. The first {@code --servers} tasks run the parameter servers (the coordinator on
 * the first node of the allocation), one worker per remaining task.
 */
@Command(
    name = "submit",
    mixinStandardHelpOptions = true,
    description = "Submit a training job to a cluster scheduler: with --slurm, write a job script from "
        + "the bundled gradflow.sbatch and run sbatch (S parameter servers, the first S tasks, plus ntasks-S workers).")
final class SubmitCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin JobOptions job;

  @Mixin ReportOptions report;

  @Mixin MetricsOption metrics;

  @Option(names = "--slurm", description = "Submit to Slurm with sbatch (the only engine so far).")
  boolean slurm;

  @Option(names = "--nodes", paramLabel = "N", description = "Nodes to allocate (default: ${DEFAULT-VALUE}).")
  int nodes = 1;

  @Option(
      names = "--ntasks",
      paramLabel = "N",
      description = "Tasks: S parameter servers (--servers) plus N-S workers (default: nodes + S, one worker per node).")
  Integer ntasks;

  @Option(
      names = "--servers",
      paramLabel = "S",
      description = "Parameter servers, the first S tasks: the parameters are sharded over them (see train --servers); "
          + "server 0 coordinates the job and writes its outputs (default: ${DEFAULT-VALUE}).")
  int servers = 1;

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

  @Option(names = "--script", paramLabel = "FILE", description = "Where to write the job script (default: gradflow-<time>.sbatch here).")
  Path script;

  @Option(names = "--secure", description = "Run every server and worker with mutual TLS and a job token: the job script makes a CA, certificates for the allocation's nodes and a token in OUT/secure/ at each start (gradflow credentials).")
  boolean secure;

  @Option(names = "--dry-run", description = "Write the job script and print the sbatch command; submit nothing.")
  boolean dryRun;

  @Option(names = "--wait", description = "Wait for the job to end (sbatch --wait); exit with its exit code.")
  boolean await;

  @Override
  public Integer call() throws IOException, InterruptedException {
    if (!slurm) {
      throw CommandFailure.usage("choose a scheduler: --slurm (the only one so far)");
    }
    if (nodes < 1) {
      throw CommandFailure.usage("--nodes must be >= 1, got " + nodes);
    }
    if (servers < 1) {
      throw CommandFailure.usage("--servers must be >= 1, got " + servers);
    }
    if (cpusPerTask != null && cpusPerTask < 1) {
      throw CommandFailure.usage("--cpus-per-task must be >= 1, got " + cpusPerTask);
    }
    int tasks = ntasks != null ? ntasks : nodes + servers;
    if (tasks < servers + 1) {
      throw CommandFailure.usage("--ntasks must be >= " + (servers + 1) + " (" + servers
          + " parameter server(s) plus at least one worker), got " + tasks);
    }
    if (tasks < nodes) {
      throw CommandFailure.usage("--ntasks " + tasks + " is less than --nodes " + nodes);
    }
    ModelSpec modelSpec = job.modelSpec();
    TrainingConfig config = job.trainingConfig();
    report.check(); // the server in the script takes these: the checks of train and server
    metrics.check();
    int microShards = config.microShards();
    if (tasks - servers > microShards) {
      throw CommandFailure.usage("--ntasks " + tasks + " makes " + (tasks - servers)
          + " workers, more than --micro-shards " + microShards + ": raise --micro-shards to at least the worker count");
    }
    ServerCommand.rangesOf(modelSpec, servers);
    for (String o : sbatchOpts) {
      if (!o.startsWith("-") || o.contains("\n")) {
        throw CommandFailure.usage("--sbatch-opt '" + o + "': expected an sbatch option such as --gres=gpu:1");
      }
    }
    Path jarPath = jar != null ? jar.toAbsolutePath() : JvmCommand.runningJar().orElseThrow(() -> CommandFailure.usage(
        "not running from the gradflow jar: give --jar PATH (the jar as the compute nodes see it)"));
    String javaPath = java != null ? java : JvmCommand.currentJava();

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
    values.put("jar", "GRADFLOW_JAR=${GRADFLOW_JAR:-" + ShellWords.quote(jarPath.toString()) + "}");
    values.put("java", "GRADFLOW_JAVA=${GRADFLOW_JAVA:-" + ShellWords.quote(javaPath) + "}");
    values.put("out", "GRADFLOW_OUT=${GRADFLOW_OUT:-" + (out == null ? "" : ShellWords.quote(out.toAbsolutePath().toString())) + "}");
    values.put("servers", "SERVERS=${GRADFLOW_SERVERS:-" + servers + "}");
    values.put("secure", "SECURE=${GRADFLOW_SECURE:-" + (secure ? 1 : 0) + "}");
    values.put("job-args", "JOB_ARGS=(" + ShellWords.join(JobOptions.argsFor(modelSpec, config, job.data.dataDir)) + ")");
    List<String> serverArgs = new ArrayList<>(report.toArgs());
    serverArgs.addAll(metrics.toArgs());
    values.put("server-args", "SERVER_ARGS=(" + ShellWords.join(serverArgs) + ")");
    String text = SlurmScript.render(SlurmScript.template(), directives, sbatchOpts, values);

    Path file = script != null ? script : Path.of("gradflow-" + Timestamp.now() + ".sbatch");
    Path parent = file.toAbsolutePath().getParent();
    try {
      if (parent != null) {
        Files.createDirectories(parent);
      }
    } catch (java.nio.file.FileAlreadyExistsException e) {
      throw OutputPaths.cannotWrite("--script", file, parent + " is not a directory");
    } catch (IOException e) {
      throw OutputPaths.cannotWrite("--script", file, e);
    }
    OutputPaths.file("--script", file);
    try {
      Files.writeString(file, text, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw OutputPaths.cannotWrite("--script", file, e);
    }
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
    return Sbatch.run(cmd, out, await, stdout);
  }

  private static void put(Map<String, String> m, String key, String value) {
    if (value != null) {
      m.put(key, value);
    }
  }
}
