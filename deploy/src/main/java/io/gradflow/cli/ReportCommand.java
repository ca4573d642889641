package io.gradflow.cli;

import com.google.gson.JsonParseException;
import io.gradflow.report.ReportFile;
import io.gradflow.report.RunData;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code gradflow report}: one self-contained HTML page of one or more runs' metrics. */
@Command(
    name = "report",
    mixinStandardHelpOptions = true,
    description = {
      "Write one HTML page of charts and tables of one or more runs.",
      "The page is self-contained (inline SVG, no script, nothing fetched): the summaries as a table; "
          + "train loss per logged step, train and test loss and test accuracy per epoch, learning rate per step "
          + "and per-layer gradient norms (log scale), with workers joining, leaving and lost marked; for "
          + "distributed runs the time split of a step and the bytes on the wire.",
      "Several runs overlay their curves with a legend, e.g. a sigmoid and a relu run of the same net."
    })
final class ReportCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(arity = "1..*", paramLabel = "RUN_DIR", description = "A run's --out directory (with metrics.jsonl).")
  List<Path> runs;

  @Option(names = "--out", paramLabel = "FILE", description = "The HTML file to write (default: ${DEFAULT-VALUE}).")
  Path out = Path.of("report.html");

  @Override
  public Integer call() {
    OutputPaths.file("--out", out);
    List<RunData> read = write(runs, out);
    spec.commandLine().getOut().println("wrote " + out + " (" + read.size() + " run" + (read.size() == 1 ? "" : "s") + ")");
    return ExitCode.OK.code();
  }

  /** Writes the report of {@code runs} to {@code out}; a directory that is no run is a usage error. */
  static List<RunData> write(List<Path> runs, Path out) {
    try {
      return ReportFile.write(runs, out);
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage(e.getMessage());
    } catch (JsonParseException e) {
      throw new CommandFailure(ExitCode.FAILED, e.getMessage());
    }
  }
}
