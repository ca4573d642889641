package io.gradflow.common.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.data.SyntheticData;
import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.train.LocalTrainer;
import io.gradflow.common.train.TrainingConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A job's outputs, written by the recorder and read back as typed records. */
class JobRecorderTest {
  private static final TrainTestSplit SPIRALS = SyntheticData.spirals(3, 100, 0.2, 42);

  @TempDir Path dir;

  private Network train() {
    Network net = Network.initialize(ModelSpec.parse("2-8-3", "tanh", "", 1));
    TrainingConfig config = new TrainingConfig("spirals", 30, 3, 0.1, 0.9, 0, LearningRateSchedule.Kind.CONSTANT, 0, 0,
        0.1, 2, 0, 3, "ejml");
    try (JobRecorder recorder = new JobRecorder(dir, 4, System.nanoTime())) {
      new LocalTrainer(net, config, SPIRALS).run(recorder);
    }
    return net;
  }

  @Test
  void summaryAndMetricsReadBackAsWritten() {
    Network net = train();
    RunSummary s = RunSummary.read(RunSummary.file(dir));
    int stepsPerEpoch = SPIRALS.train().count() / 30;
    assertEquals(2L * stepsPerEpoch, s.steps());
    assertEquals(2.0, s.epochs());
    assertEquals(0, s.workers());
    assertEquals(30, s.globalBatch());
    assertEquals(3, s.microShards());
    assertEquals("2-8-3", s.model());
    assertEquals("tanh", s.activation());
    assertEquals(net.spec().parameterCount(), s.parameters());
    assertEquals("none", s.pushPrecision());
    assertEquals(net.sha256(), s.weightsSha256());
    assertTrue(s.testAccuracy() > 0 && s.testAccuracy() <= 1, "accuracy " + s.testAccuracy());

    MetricsLog log = MetricsLog.read(MetricsLog.file(dir));
    assertEquals(2, log.epochs().size());
    assertEquals(s.testAccuracy(), log.epochs().get(1).testAccuracy());
    assertEquals(s.steps(), log.epochs().get(1).step());
    assertEquals(s.trainLoss(), log.epochs().get(1).trainLoss());
    MetricsLog.Step last = log.steps().get(log.steps().size() - 1);
    assertEquals(s.steps(), last.step());
    assertEquals(2, last.gradNorms().length);
    assertEquals(0.1, last.lr(), 1e-7);
  }

  @Test
  void theFilesHoldTheFieldsTheReadmeDocumentsWithIntegersAsIntegers() throws IOException {
    train();
    String summary = Files.readString(RunSummary.file(dir));
    String metrics = Files.readString(MetricsLog.file(dir));
    for (String field : documented("summary.json")) {
      assertTrue(summary.contains("\n  \"" + field + "\": "), "summary.json lacks " + field + ":\n" + summary);
    }
    for (String field : documented("metrics.jsonl")) {
      assertTrue(metrics.contains("\"" + field + "\":"), "metrics.jsonl lacks " + field);
    }
    assertTrue(summary.contains("\n  \"steps\": " + 2 * (SPIRALS.train().count() / 30) + ",\n"), summary);
    assertTrue(summary.contains("\n  \"epochs\": 2.0,\n"), summary);
    assertTrue(summary.endsWith("\"\n}\n"), summary);
    assertTrue(metrics.startsWith("{\"type\":\"step\",\"step\":4,\"epoch\":1,\"loss\":"), metrics);
  }

  /** The backticked field names in the row for {@code file} of the README's (or docs/'s) table of outputs. */
  private static List<String> documented(String file) throws IOException {
    StringBuilder docs = new StringBuilder(Files.readString(Path.of("../README.md")));
    if (Files.isDirectory(Path.of("../docs"))) {
      try (var pages = Files.list(Path.of("../docs"))) {
        for (Path page : pages.filter(p -> p.toString().endsWith(".md")).sorted().toList()) {
          docs.append('\n').append(Files.readString(page));
        }
      }
    }
    Matcher row = Pattern.compile("^\\| `" + Pattern.quote(file) + "` \\|(.*)$", Pattern.MULTILINE).matcher(docs);
    assertTrue(row.find(), "neither the README nor docs/ has a row for " + file);
    List<String> fields = new ArrayList<>();
    Matcher name = Pattern.compile("`([a-z0-9_]+)`").matcher(row.group(1));
    while (name.find()) {
      fields.add(name.group(1));
    }
    assertTrue(fields.size() >= 5, "README row for " + file + ": " + fields);
    return fields;
  }

  /**
   * An evaluation said to take 1000 s: in line with training (one process) it is taken out of
   * train_seconds, which then comes out negative; beside training (the server) it is not.
   */
  @Test
  void evaluationBesideTrainingIsNotTakenOutOfTrainingTime() throws IOException {
    for (boolean overlaps : new boolean[] {false, true}) {
      Path out = dir.resolve(overlaps ? "overlapping" : "inline");
      Network net = Network.initialize(ModelSpec.parse("2-8-3", "tanh", "", 1));
      TrainingConfig config = new TrainingConfig("spirals", 30, 3, 0.1, 0.9, 0, LearningRateSchedule.Kind.CONSTANT, 0, 0,
          0.1, 1, 0, 3, "ejml");
      try (JobRecorder recorder = new JobRecorder(out, 4, System.nanoTime())) {
        if (overlaps) {
          recorder.evaluationOverlapsTraining();
        }
        new LocalTrainer(net, config, SPIRALS).run(new Forwarding(recorder) {
          @Override
          public void onEpoch(int epoch, long step, io.gradflow.common.train.Evaluator.Result test, double trainLoss) {
            recorder.onEpoch(epoch, step, new io.gradflow.common.train.Evaluator.Result(test.accuracy(), test.loss(),
                test.count(), 1000), trainLoss);
          }
        });
      }
      double trainSeconds = RunSummary.read(RunSummary.file(out)).trainSeconds();
      assertEquals(overlaps, trainSeconds > 0, (overlaps ? "beside" : "in line") + ": train_seconds " + trainSeconds);
    }
  }

  /**
   * The server reports an epoch after its evaluation, while the next epoch trains. Here epoch 1's
   * report is held back until the second step of epoch 2, which first sleeps a second: that second
   * belongs to epoch 2, and epoch 1's seconds end at its last step. (Timed from the reports, the
   * second went to epoch 1.)
   */
  @Test
  void aLateEvaluationReportMovesNoTimeIntoTheEpochItReports() {
    Network net = Network.initialize(ModelSpec.parse("2-8-3", "tanh", "", 1));
    TrainingConfig config = new TrainingConfig("spirals", 30, 3, 0.1, 0.9, 0, LearningRateSchedule.Kind.CONSTANT, 0, 0,
        0.1, 2, 0, 3, "ejml");
    int stepsPerEpoch = SPIRALS.train().count() / 30;
    List<Runnable> held = new ArrayList<>();
    try (JobRecorder recorder = new JobRecorder(dir, 4, System.nanoTime())) {
      recorder.evaluationOverlapsTraining();
      new LocalTrainer(net, config, SPIRALS).run(new Forwarding(recorder) {
        @Override
        public void onStep(long step, int epoch, double loss, float lr, io.gradflow.common.nn.Gradients g) {
          if (step == stepsPerEpoch + 1) {
            sleepOneSecond();
            held.forEach(Runnable::run);
            held.clear();
          }
          recorder.onStep(step, epoch, loss, lr, g);
        }

        @Override
        public void onEpoch(int epoch, long step, io.gradflow.common.train.Evaluator.Result test, double trainLoss) {
          Runnable report = () -> recorder.onEpoch(epoch, step, test, trainLoss);
          if (epoch == 0) {
            held.add(report);
          } else {
            report.run();
          }
        }
      });
    }
    List<MetricsLog.Epoch> epochs = MetricsLog.read(MetricsLog.file(dir)).epochs();
    assertEquals(2, epochs.size());
    assertTrue(epochs.get(0).epochSeconds() < 1.0, "epoch 1: " + epochs.get(0).epochSeconds() + " s");
    assertTrue(epochs.get(1).epochSeconds() >= 1.0, "epoch 2: " + epochs.get(1).epochSeconds() + " s");
  }

  private static void sleepOneSecond() {
    try {
      Thread.sleep(1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * Hands a trainer's start, steps and finish to a recorder; each test adds what it does to the
   * calls it changes (epochs are not forwarded unless a test forwards them).
   */
  private static class Forwarding implements io.gradflow.common.train.TrainingListener {
    final JobRecorder recorder;

    Forwarding(JobRecorder recorder) {
      this.recorder = recorder;
    }

    @Override
    public void onStart(io.gradflow.common.train.JobInfo job) {
      recorder.onStart(job);
    }

    @Override
    public boolean readsGradient(long step) {
      return recorder.readsGradient(step);
    }

    @Override
    public void onStep(long step, int epoch, double loss, float lr, io.gradflow.common.nn.Gradients g) {
      recorder.onStep(step, epoch, loss, lr, g);
    }

    @Override
    public void onFinish(Network n, long steps, io.gradflow.common.train.Evaluator.Result test, double trainLoss) {
      recorder.onFinish(n, steps, test, trainLoss);
    }
  }

  /** The server rehearses the start while the job assembles: nothing may reach the outputs. */
  @Test
  void rehearsingTheStartWritesNothing() throws IOException {
    Path out = dir.resolve("out");
    TrainingConfig config = new TrainingConfig("spirals", 30, 3, 0.1, 0.9, 0, LearningRateSchedule.Kind.CONSTANT, 0, 0,
        0.1, 2, 0, 3, "ejml");
    try (JobRecorder recorder = new JobRecorder(out, 4, System.nanoTime())) {
      recorder.rehearseStart(new io.gradflow.common.train.JobInfo(ModelSpec.parse("2-8-3", "tanh", "", 1), config, 2,
          20, 10, 300, 100, 0));
      assertFalse(Files.exists(out) && Files.list(out).findAny().isPresent(), "rehearsal wrote into " + out);
    }
  }

  /** Membership events become event records at the step they happened; other messages do not. */
  @Test
  void membershipEventsAreRecordedOnTheStepAxis() {
    Network net = Network.initialize(ModelSpec.parse("2-8-3", "tanh", "", 1));
    TrainingConfig config = new TrainingConfig("spirals", 30, 3, 0.1, 0.9, 0, LearningRateSchedule.Kind.CONSTANT, 0, 0,
        0.1, 1, 0, 3, "ejml");
    try (JobRecorder recorder = new JobRecorder(dir, 4, System.nanoTime())) {
      recorder.onEvent("joined: worker-0 (w1), 1/2");
      recorder.onEvent("refused worker-9: job differs: lr");
      new LocalTrainer(net, config, SPIRALS).run(new Forwarding(recorder) {
        @Override
        public void onStep(long step, int epoch, double loss, float lr, io.gradflow.common.nn.Gradients g) {
          recorder.onStep(step, epoch, loss, lr, g);
          if (step == 4) {
            recorder.onEvent("lost: worker-1 (w2) (silent for 10 s); 1 live worker(s)");
            recorder.onEvent("resuming: 2 live worker(s)");
          }
        }
      });
    }
    List<MetricsLog.Event> events = MetricsLog.read(MetricsLog.file(dir)).events();
    assertEquals(List.of("joined", "lost", "resumed"), events.stream().map(MetricsLog.Event::kind).toList());
    assertEquals(List.of(0L, 5L, 5L), events.stream().map(MetricsLog.Event::step).toList());
    assertEquals("lost: worker-1 (w2) (silent for 10 s); 1 live worker(s)", events.get(1).message());
  }

  /**
   * A server restarted from its checkpoint after 100 steps hears its workers join, and says it
   * resumes, before the job starts: those events happened with 100 steps done, not 0 (a report drew
   * them at the start of the run).
   */
  @Test
  void eventsBeforeAResumedJobStartsAreRecordedAtItsCheckpointsStep() {
    TrainingConfig config = new TrainingConfig("spirals", 30, 3, 0.1, 0.9, 0, LearningRateSchedule.Kind.CONSTANT, 0, 0,
        0.1, 20, 0, 3, "ejml");
    try (JobRecorder recorder = new JobRecorder(dir, 4, System.nanoTime(), true)) {
      recorder.onEvent("joined: worker 0 (worker-1), 1/2");
      recorder.onEvent("resuming at step 101 from a checkpoint");
      recorder.onStart(new io.gradflow.common.train.JobInfo(ModelSpec.parse("2-8-3", "tanh", "", 1), config, 2, 200, 10,
          300, 60, 100));
    }
    List<MetricsLog.Event> events = MetricsLog.read(MetricsLog.partialFile(dir)).events();
    assertEquals(List.of("joined", "resumed"), events.stream().map(MetricsLog.Event::kind).toList());
    assertEquals(List.of(100L, 100L), events.stream().map(MetricsLog.Event::step).toList());
  }
}
