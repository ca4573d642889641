package io.gradflow.common.report;

import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code metrics.jsonl}: one JSON object a line, {@code "type": "step"} every {@code --log-every}
 * steps ({@link Step}), {@code "type": "epoch"} after each epoch's evaluation ({@link Epoch}) and
 * {@code "type": "event"} when a worker joins, leaves or is lost or the job pauses or resumes
 * ({@link Event}).
 *
 * @param steps the step records, in file order
 * @param epochs the epoch records, in file order
 * @param events the event records, in file order
 */
public record MetricsLog(List<Step> steps, List<Epoch> epochs, List<Event> events) {

  /**
   * A step record.
   *
   * @param step 1-based
   * @param epoch 1-based
   * @param loss the step's mean cross-entropy
   * @param samplesPerSecond since the previous step record
   * @param gradNorms per layer, {@code ||(dW_l, db_l)||_2}
   */
  public record Step(long step, int epoch, double loss, double lr, double samplesPerSecond, double[] gradNorms) {}

  /**
   * An epoch record.
   *
   * @param epoch 1-based
   * @param step the last step of the epoch, 1-based
   * @param trainLoss mean of the epoch's step losses
   * @param epochSeconds wall time of the epoch, evaluation included
   */
  public record Epoch(int epoch, long step, double trainLoss, double testLoss, double testAccuracy, double epochSeconds) {}

  /**
   * An event of the job's membership, on the step axis.
   *
   * @param step steps done when it happened (0 before the first step)
   * @param kind {@code joined}, {@code left}, {@code lost}, {@code waiting} or {@code resumed}
   * @param message the server's line about it
   */
  public record Event(long step, String kind, String message) {
    /** The kinds an event record has, in the order a report's legend lists them. */
    public static final List<String> KINDS = List.of("joined", "left", "lost", "waiting", "resumed");

    /**
     * The kind of a server message ({@code "lost: worker-1 ..."}), or null for a message that is
     * no membership event (a refused join, a TLS session).
     */
    public static String kindOf(String message) {
      if (message.startsWith("resuming")) {
        return "resumed"; // "resuming: N live worker(s)" and "resuming at step S from a checkpoint"
      }
      int colon = message.indexOf(':');
      String head = colon < 0 ? "" : message.substring(0, colon);
      return KINDS.contains(head) ? head : null;
    }
  }

  public MetricsLog {
    steps = List.copyOf(steps);
    epochs = List.copyOf(epochs);
    events = List.copyOf(events);
  }

  /** The metrics.jsonl file of the job directory {@code dir}. */
  public static Path file(Path dir) {
    return dir.resolve("metrics.jsonl");
  }

  /**
   * The metrics of a job still running (or failed) in {@code dir}: {@code metrics.jsonl.partial},
   * moved onto {@link #file} only when the job succeeds, so a failed job leaves an earlier run's
   * metrics.jsonl as it was.
   */
  public static Path partialFile(Path dir) {
    return dir.resolve("metrics.jsonl.partial");
  }

  /** {@code s} as its line (without the newline). */
  public static String line(Step s) {
    return typed("step", s);
  }

  /** {@code e} as its line (without the newline). */
  public static String line(Epoch e) {
    return typed("epoch", e);
  }

  /** {@code e} as its line (without the newline). */
  public static String line(Event e) {
    return typed("event", e);
  }

  private static String typed(String type, Object record) {
    JsonObject o = new JsonObject();
    o.addProperty("type", type);
    Json.tree(record).getAsJsonObject().asMap().forEach(o::add);
    return Json.line(o);
  }

  /**
   * Reads a metrics.jsonl.
   *
   * @throws JsonParseException naming the file and line of a record that is not valid
   */
  public static MetricsLog read(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    List<Step> steps = new ArrayList<>();
    List<Epoch> epochs = new ArrayList<>();
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).isBlank()) {
        continue;
      }
      String where = file + " line " + (i + 1);
      JsonObject o = Json.parse(lines.get(i), JsonObject.class, where);
      String type = o.has("type") && o.get("type").isJsonPrimitive() ? o.get("type").getAsString() : "";
      switch (type) {
        case "step" -> steps.add(Json.parse(o, Step.class, where));
        case "epoch" -> epochs.add(Json.parse(o, Epoch.class, where));
        case "event" -> events.add(Json.parse(o, Event.class, where));
        default -> throw new JsonParseException(where + ": record of type '" + type + "': expected step, epoch or event");
      }
    }
    return new MetricsLog(steps, epochs, events);
  }
}
