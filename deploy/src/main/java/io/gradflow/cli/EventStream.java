package io.gradflow.cli;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.train.Evaluator;
import io.gradflow.common.train.JobInfo;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.train.TrainingListener;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * Progress events of a server that runs as the launcher's child, one line each on the server's
 * stdout ({@code @gradflow KIND key=value ...}), and their decoding back into the launcher's
 * display. Lines that are not events are passed through as messages.
 */
final class EventStream {
  static final String PREFIX = "@gradflow ";

  private EventStream() {}

  /** Step lines of a server without faults to time: at most one per this many nanoseconds (the display redraws no faster). */
  static final long STEP_INTERVAL_NANOS = 100_000_000L;

  /**
   * The server side: writes every event as a line, but step lines at most once per {@code
   * stepIntervalNanos} (0: every step). Each line wakes the launcher, a process that competes with
   * the workers for the cores; only a launcher that injects faults at given steps needs them all.
   */
  static TrainingListener writer(PrintStream out, long stepIntervalNanos) {
    return new TrainingListener() {
      private long lastStepLine = Long.MIN_VALUE / 2;

      @Override
      public void onStart(JobInfo job) {
        out.println(startLine(job));
      }

      @Override
      public void rehearseStart(JobInfo job) {
        startLine(job).length();
        stepLine(job.firstStep(), 0, 1.0, 0.1f).length();
      }

      @Override
      public void onStep(long step, int epoch, double loss, float lr, Gradients gradient) {
        long now = System.nanoTime();
        if (now - lastStepLine < stepIntervalNanos) {
          return;
        }
        lastStepLine = now;
        out.println(stepLine(step, epoch, loss, lr));
      }

      @Override
      public void onEpoch(int epoch, long step, Evaluator.Result test, double trainLoss) {
        out.println(PREFIX + "epoch epoch=" + epoch + " step=" + step + " train_loss=" + trainLoss
            + " test_loss=" + test.loss() + " test_accuracy=" + test.accuracy() + " count=" + test.count()
            + " seconds=" + test.seconds());
      }

      @Override
      public void onEvent(String message) {
        out.println(PREFIX + "message " + message.replace('\n', ' '));
      }

      @Override
      public void onFinish(Network net, long steps, Evaluator.Result test, double trainLoss) {
        out.println(PREFIX + "finish steps=" + steps + " test_accuracy=" + test.accuracy() + " test_loss="
            + test.loss() + " sha256=" + net.sha256());
      }
    };
  }

  private static String startLine(JobInfo job) {
    return PREFIX + "start total_steps=" + job.totalSteps() + " steps_per_epoch=" + job.stepsPerEpoch()
        + " train=" + job.trainCount() + " test=" + job.testCount() + " workers=" + job.workers()
        + " first_step=" + job.firstStep();
  }

  private static String stepLine(long step, int epoch, double loss, float lr) {
    return PREFIX + "step step=" + step + " epoch=" + epoch + " loss=" + loss + " lr=" + lr;
  }

  /** The launcher side: turns lines back into calls on {@code display}. */
  static final class Reader {
    private final ProgressDisplay display;
    private final ModelSpec spec;
    private final TrainingConfig config;
    private boolean finished;
    private long lastStep = -1;

    Reader(ProgressDisplay display, ModelSpec spec, TrainingConfig config) {
      this.display = display;
      this.spec = spec;
      this.config = config;
    }

    boolean finished() {
      return finished;
    }

    /**
     * Reads the server's stdout until it ends: every line but the server's closing {@code wrote
     * ...} is accepted; after each step event {@code afterStep} gets the number of steps done.
     */
    void follow(InputStream in, LongConsumer afterStep) throws IOException {
      try (BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = lines.readLine()) != null) {
          if (line.startsWith("wrote ")) {
            continue;
          }
          accept(line);
          if (line.startsWith(PREFIX + "step ")) {
            afterStep.accept(lastStep + 1);
          }
        }
      }
    }

    void accept(String line) {
      if (!line.startsWith(PREFIX)) {
        display.onEvent(line);
        return;
      }
      String body = line.substring(PREFIX.length());
      int space = body.indexOf(' ');
      String kind = space < 0 ? body : body.substring(0, space);
      String rest = space < 0 ? "" : body.substring(space + 1);
      if (kind.equals("message")) {
        display.onEvent(rest);
        return;
      }
      Map<String, String> f = fields(rest);
      switch (kind) {
        case "start" ->
            display.onStart(
                new JobInfo(spec, config, Integer.parseInt(f.get("workers")), Long.parseLong(f.get("total_steps")),
                    Integer.parseInt(f.get("steps_per_epoch")), Integer.parseInt(f.get("train")),
                    Integer.parseInt(f.get("test")), Long.parseLong(f.get("first_step"))));
        case "step" -> {
          lastStep = Long.parseLong(f.get("step"));
          display.onStep(lastStep, Integer.parseInt(f.get("epoch")),
              Double.parseDouble(f.get("loss")), Float.parseFloat(f.get("lr")), null);
        }
        case "epoch" ->
            display.onEpoch(Integer.parseInt(f.get("epoch")), Long.parseLong(f.get("step")),
                new Evaluator.Result(Double.parseDouble(f.get("test_accuracy")), Double.parseDouble(f.get("test_loss")),
                    Integer.parseInt(f.get("count")), Double.parseDouble(f.get("seconds"))),
                Double.parseDouble(f.get("train_loss")));
        case "finish" -> {
          finished = true;
          display.finished(Long.parseLong(f.get("steps")), Double.parseDouble(f.get("test_accuracy")),
              Double.parseDouble(f.get("test_loss")), f.get("sha256"));
        }
        default -> display.onEvent(line);
      }
    }

    private static Map<String, String> fields(String text) {
      Map<String, String> out = new HashMap<>();
      for (String part : text.split(" ")) {
        int eq = part.indexOf('=');
        if (eq > 0) {
          out.put(part.substring(0, eq), part.substring(eq + 1));
        }
      }
      return out;
    }
  }
}
