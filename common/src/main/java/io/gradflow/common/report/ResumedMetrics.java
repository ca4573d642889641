package io.gradflow.common.report;

import com.google.gson.JsonObject;
import io.gradflow.common.train.JobInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * What {@code metrics.jsonl.partial} starts with when a job starts or resumes. A new job starts it
 * empty. A job resumed after {@code s} applied steps continues the records of steps {@code 1..s}
 * (step, epoch and event records whose {@code step} is at most {@code s}; what a crashed run logged
 * past its checkpoint goes, so no step is recorded twice): from the partial file of its own earlier
 * run, or, when the partial file is missing or was left by another job in the same directory (a
 * failed run), from {@code metrics.jsonl}. Which job wrote a partial file is stamped beside it
 * ({@code metrics.jsonl.partial.job}: a digest of the model and the training config), and the
 * stamp goes once the job's files are complete.
 */
final class ResumedMetrics {
  private ResumedMetrics() {}

  static Path stampFile(Path dir) {
    return MetricsLog.partialFile(dir).resolveSibling(MetricsLog.partialFile(dir).getFileName() + ".job");
  }

  /** The job's stamp: SHA-256 of its model and training config as text. */
  static String stamp(JobInfo job) {
    try {
      byte[] text = (job.spec() + "\n" + job.config()).getBytes(StandardCharsets.UTF_8);
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes the partial file (and its stamp) that {@code job} appends to from now on. */
  static void prepare(Path dir, JobInfo job, boolean resumed) throws IOException {
    Path partial = MetricsLog.partialFile(dir);
    String stamp = stamp(job);
    List<String> kept = List.of();
    if (resumed) {
      Path stampFile = stampFile(dir);
      boolean ownPartial = Files.isRegularFile(partial) && Files.isRegularFile(stampFile)
          && Files.readString(stampFile, StandardCharsets.UTF_8).strip().equals(stamp);
      Path base = ownPartial ? partial : MetricsLog.file(dir);
      kept = Files.isRegularFile(base) ? upTo(Files.readAllLines(base, StandardCharsets.UTF_8), job.firstStep()) : List.of();
    }
    Files.write(partial, kept, StandardCharsets.UTF_8);
    Files.writeString(stampFile(dir), stamp + "\n", StandardCharsets.UTF_8);
  }

  /** The records of {@code lines} whose {@code step} is at most {@code steps}; a line that is no record (cut by a crash) goes. */
  static List<String> upTo(List<String> lines, long steps) {
    List<String> kept = new ArrayList<>();
    for (String line : lines) {
      try {
        JsonObject o = Json.parse(line, JsonObject.class, "metrics");
        if (o.has("step") && o.get("step").getAsLong() <= steps) {
          kept.add(line);
        }
      } catch (RuntimeException e) {
        // a partial line written when the earlier run was killed
      }
    }
    return kept;
  }
}
