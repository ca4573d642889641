package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.train.JobInfo;
import io.gradflow.common.train.TrainingConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class ProgressDisplayTest {
  private static final JobInfo JOB = new JobInfo(ModelSpec.parse("2-8-3", "tanh", "", 1),
      new TrainingConfig("spirals", 30, 3, 0.1, 0.9, 0, LearningRateSchedule.Kind.CONSTANT, 0, 0, 0.1, 2, 0, 3, "ejml"),
      0, 20, 10, 300, 100, 0);

  private static String drive(boolean interactive) {
    StringWriter text = new StringWriter();
    ProgressDisplay display = new ProgressDisplay(new PrintWriter(text), interactive, 0);
    display.onStart(JOB);
    for (long s = 0; s < 20; s++) {
      display.onStep(s, (int) (s / 10), 0.5, 0.1f, null);
    }
    return text.toString();
  }

  @Test
  void onATerminalTheBarRedrawsInPlaceWithTheEta() {
    String out = drive(true);
    assertTrue(out.contains("\r[########################] 100%  step 20/20  epoch 2/2  loss 0.5000"), out);
    assertTrue(out.contains("ETA 0s"), out);
    String afterHeader = out.substring(out.indexOf('\n') + 1);
    assertFalse(afterHeader.contains("\n"), "the status line is redrawn in place, not repeated:\n" + out);
    assertTrue(afterHeader.startsWith("\r[") && afterHeader.endsWith("\033[K"), afterHeader);
  }

  @Test
  void elsewhereProgressIsPlainLinesWithoutTheBar() {
    String out = drive(false);
    assertFalse(out.contains("\r") || out.contains("\033") || out.contains("#"), out);
    assertTrue(out.lines().anyMatch(l -> l.startsWith("step 20/20  epoch 2/2  loss 0.5000") && l.endsWith("ETA 0s")), out);
  }

  @Test
  void barAndEta() {
    assertEquals("[........................]   0%", ProgressDisplay.bar(0, 10));
    assertEquals("[############............]  50%", ProgressDisplay.bar(5, 10));
    assertEquals("[########################] 100%", ProgressDisplay.bar(12, 10));
    assertEquals("?", ProgressDisplay.eta(10, 30, 0));
    assertEquals("10s", ProgressDisplay.eta(10, 30, 30));
    assertEquals("3m07s", ProgressDisplay.eta(187, 1, 1));
    assertEquals("1h02m", ProgressDisplay.eta(3720, 1, 1));
  }
}
