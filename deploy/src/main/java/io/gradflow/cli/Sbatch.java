package io.gradflow.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/** Submits a job script with Slurm's {@code sbatch} and follows what it says. */
final class Sbatch {
  private Sbatch() {}

  /**
   * Runs {@code cmd} ({@code sbatch --parsable [--wait] SCRIPT}), echoing its output to {@code
   * stdout} and saying where the job's outputs go ({@code out}, or {@code gradflow-<jobid>} here).
   * A failed submission, or with {@code await} a failed job, is a {@link CommandFailure}.
   */
  static int run(List<String> cmd, Path out, boolean await, PrintWriter stdout) throws IOException, InterruptedException {
    Process p;
    try {
      p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new CommandFailure(ExitCode.FAILED,
          "cannot run sbatch (" + e.getMessage() + "): run gradflow submit on a Slurm login node");
    }
    p.getOutputStream().close();
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
}
