package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.gradflow.common.train.TrainingListener;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The server's event lines: every step for a launcher that injects faults, otherwise at most one step line per interval, and every other event always. */
class EventStreamTest {
  private static long stepLines(long intervalNanos) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    TrainingListener writer = EventStream.writer(new PrintStream(bytes, true, StandardCharsets.UTF_8), intervalNanos);
    for (int step = 0; step < 50; step++) {
      writer.onStep(step, 0, 1.0, 0.1f, null);
      writer.onEvent("message " + step);
    }
    String text = bytes.toString(StandardCharsets.UTF_8);
    assertEquals(50, text.lines().filter(l -> l.startsWith(EventStream.PREFIX + "message ")).count(), text);
    return text.lines().filter(l -> l.startsWith(EventStream.PREFIX + "step ")).count();
  }

  @Test
  void everyStepWithoutAnIntervalAndTheFirstOnlyWithinOne() {
    assertEquals(50, stepLines(0));
    assertEquals(1, stepLines(3_600_000_000_000L));
  }
}
