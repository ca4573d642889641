package io.gradflow.cli;

import io.gradflow.common.data.DataException;
import io.gradflow.common.model.ModelFileException;
import io.gradflow.common.report.OutputException;
import io.gradflow.common.train.DivergedException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code gradflow} command line. {@code main} is {@code System.exit(run(args))}, after gRPC's
 * log records are made one line each ({@link GrpcLogging}).
 */
@Command(
    name = "gradflow",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Data-parallel training of dense feed-forward networks over gRPC.",
    subcommands = {
      TrainCommand.class,
      ServerCommand.class,
      WorkerCommand.class,
      SubmitCommand.class,
      CredentialsCommand.class,
      EvaluateCommand.class,
      PredictCommand.class,
      ExportCommand.class,
      GradcheckCommand.class,
      ExplainCommand.class,
      ReportCommand.class,
      BenchCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing command: try 'gradflow --help'");
  }

  public static void main(String[] args) {
    GrpcLogging.install();
    System.exit(run(args));
  }

  /** Runs a command line in this process, writing to stdout and stderr; returns the exit code. */
  public static int run(String... args) {
    return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
  }

  /**
   * Runs a command line in this process with the given streams; returns the exit code. A command
   * that runs out of heap (a --model or --batch too large for it) ends with one line that says so
   * and how large the heap is, exit 1, instead of the JVM's stack trace.
   */
  public static int run(PrintWriter out, PrintWriter err, String... args) {
    CommandLine cl = commandLine();
    cl.setOut(out);
    cl.setErr(err);
    try {
      return cl.execute(args);
    } catch (OutOfMemoryError e) {
      err.println(outOfMemory(e, Runtime.getRuntime().maxMemory()));
      if (System.getenv("GRADFLOW_DEBUG") != null) {
        e.printStackTrace(err);
      }
      err.flush();
      return ExitCode.FAILED.code();
    }
  }

  /** The line for a command that ran out of memory in a heap of at most {@code maxHeapBytes}. */
  static String outOfMemory(OutOfMemoryError e, long maxHeapBytes) {
    return String.format(java.util.Locale.ROOT,
        "gradflow: out of memory (%s) with a heap of at most %d MiB: use a smaller --model or --batch, or a larger heap"
            + " (GRADFLOW_JAVA_OPTS=-Xmx..., GRADFLOW_CHILD_JAVA_OPTS for a job's server and workers)",
        e.getMessage(), maxHeapBytes >> 20);
  }

  /** The configured command tree (exception handlers mapped to {@link ExitCode}s). */
  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    cl.setOverwrittenOptionsAllowed(true); // the last value wins, as in most CLIs
    cl.setParameterExceptionHandler(Main::usageError);
    cl.setExecutionExceptionHandler(Main::executionError);
    return cl;
  }

  private static int usageError(CommandLine.ParameterException e, String[] args) {
    CommandLine cmd = e.getCommandLine();
    CommandLine.ParseResult parsed = cmd.getParseResult();
    if (!(e instanceof CommandLine.UnmatchedArgumentException) && parsed != null && !parsed.unmatched().isEmpty()) {
      // picocli checks the required options before the unknown ones: "--bogus" would be hidden
      // behind "Missing required option", which sends the user looking for the wrong mistake
      e = new CommandLine.UnmatchedArgumentException(cmd, parsed.unmatched());
    }
    PrintWriter err = cmd.getErr();
    err.println(cmd.getCommandSpec().qualifiedName() + ": " + e.getMessage());
    err.println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for the options.");
    err.flush();
    return ExitCode.USAGE.code();
  }

  private static int executionError(
      Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
    PrintWriter err = cmd.getErr();
    String name = cmd.getCommandSpec().qualifiedName();
    ExitCode code;
    String message;
    if (e instanceof DataException) {
      code = ExitCode.DATA;
      message = "data error: " + e.getMessage();
    } else if (e instanceof ModelFileException) {
      code = ExitCode.MODEL_FILE;
      message = "model file error: " + e.getMessage();
    } else if (e instanceof OutputException) {
      code = ExitCode.SAVE_FAILED;
      message = e.getMessage();
    } else if (e instanceof UncheckedIOException) {
      code = ExitCode.FAILED;
      message = e.getMessage();
    } else if (e instanceof DivergedException) {
      code = ExitCode.FAILED;
      message = e.getMessage();
    } else if (e instanceof CommandFailure f) {
      code = f.exitCode();
      message = f.getMessage();
    } else {
      code = ExitCode.FAILED;
      message = "internal error: " + e + " (set GRADFLOW_DEBUG=1 for the stack trace)";
    }
    err.println(name + ": " + message);
    if (code == ExitCode.USAGE) {
      err.println("Try '" + name + " --help' for the options.");
    }
    if (System.getenv("GRADFLOW_DEBUG") != null && code != ExitCode.USAGE) {
      e.printStackTrace(err);
    }
    err.flush();
    return code.code();
  }

  /** Reads the version from the jar's manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"gradflow " + (v == null ? "dev" : v), "Java " + Runtime.version()};
    }
  }
}
