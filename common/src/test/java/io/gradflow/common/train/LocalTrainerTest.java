package io.gradflow.common.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.data.SyntheticData;
import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.optim.LearningRateSchedule;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LocalTrainerTest {
  private static final TrainTestSplit SPIRALS = SyntheticData.spirals(3, 300, 0.2, 42);

  private static TrainingConfig config(int batch, int shards, int epochs, String kernels) {
    return new TrainingConfig("spirals", batch, shards, 0.1, 0.9, 1e-4, LearningRateSchedule.Kind.COSINE, 0, 0, 0.1,
        epochs, 0, 3, kernels);
  }

  @Test
  void lossFallsAndSpiralsAreLearned() {
    Network net = Network.initialize(ModelSpec.parse("2-32-32-3", "relu", "", 1));
    List<Double> epochLoss = new ArrayList<>();
    double[] accuracy = new double[1];
    new LocalTrainer(net, config(30, 3, 40, "vector-512"), SPIRALS).run(new TrainingListener() {
      @Override
      public void onEpoch(int epoch, long step, Evaluator.Result test, double trainLoss) {
        epochLoss.add(trainLoss);
        accuracy[0] = test.accuracy();
      }
    });
    assertEquals(40, epochLoss.size());
    assertTrue(epochLoss.get(39) < 0.5 * epochLoss.get(0), "loss " + epochLoss.get(0) + " -> " + epochLoss.get(39));
    assertTrue(accuracy[0] > 0.9, "test accuracy " + accuracy[0]);
  }

  @Test
  void sigmoidGradientsVanishTowardsTheInput() {
    Network net = Network.initialize(ModelSpec.parse("2-16-16-16-16-3", "sigmoid", "", 1));
    List<double[]> norms = new ArrayList<>();
    new LocalTrainer(net, config(30, 1, 1, "ejml"), SPIRALS).run(new TrainingListener() {
      @Override
      public boolean readsGradient(long step) {
        return step == 0;
      }

      @Override
      public void onStep(long step, int epoch, double loss, float lr, Gradients gradient) {
        if (step == 0) {
          norms.add(gradient.layerNorms());
        }
      }
    });
    double[] n = norms.get(0);
    assertTrue(n[0] < n[n.length - 1] / 10, "first layer " + n[0] + " vs last " + n[n.length - 1]);
  }

  /**
   * The update writes the gradient only for the steps a listener reads it on; those steps get the
   * gradient of that very step (the norms of a run that reads every step), the others null, and
   * the weights do not depend on it.
   */
  @Test
  void aListenerGetsTheGradientOfEachStepItReadsAndNullOnTheOthers() {
    ModelSpec spec = ModelSpec.parse("2-16-16-3", "relu", "", 1);
    java.util.Map<Long, double[]> every = new java.util.HashMap<>();
    java.util.Map<Long, double[]> third = new java.util.HashMap<>();
    List<Long> nullSteps = new ArrayList<>();
    Network a = Network.initialize(spec);
    Network b = Network.initialize(spec);
    new LocalTrainer(a, config(30, 3, 2, "vector-512"), SPIRALS).run(new TrainingListener() {
      @Override
      public boolean readsGradient(long step) {
        return true;
      }

      @Override
      public void onStep(long step, int epoch, double loss, float lr, Gradients gradient) {
        every.put(step, gradient.layerNorms());
      }
    });
    new LocalTrainer(b, config(30, 3, 2, "vector-512"), SPIRALS).run(new TrainingListener() {
      @Override
      public boolean readsGradient(long step) {
        return step % 3 == 2;
      }

      @Override
      public void onStep(long step, int epoch, double loss, float lr, Gradients gradient) {
        if (gradient == null) {
          nullSteps.add(step);
        } else {
          third.put(step, gradient.layerNorms());
        }
      }
    });
    assertEquals(a.sha256(), b.sha256());
    assertTrue(third.size() > 5, "steps read: " + third.size());
    for (var e : third.entrySet()) {
      assertEquals(2L, e.getKey() % 3);
      org.junit.jupiter.api.Assertions.assertArrayEquals(every.get(e.getKey()), e.getValue(), "step " + e.getKey());
    }
    assertEquals(every.size() - third.size(), nullSteps.size());
  }

  @Test
  void theResultDependsOnTheBatchAndTheSeedButNotOnRerunning() {
    ModelSpec spec = ModelSpec.parse("2-8-3", "tanh", "", 1);
    Network a = Network.initialize(spec);
    Network b = Network.initialize(spec);
    Network c = Network.initialize(spec);
    new LocalTrainer(a, config(30, 3, 2, "vector-512"), SPIRALS).run(new TrainingListener() {});
    new LocalTrainer(b, config(30, 3, 2, "vector-512"), SPIRALS).run(new TrainingListener() {});
    new LocalTrainer(c, config(60, 3, 2, "vector-512"), SPIRALS).run(new TrainingListener() {});
    assertEquals(a.sha256(), b.sha256());
    assertNotEquals(a.sha256(), c.sha256());
  }

  @Test
  void threadsComputeTheSameBits() {
    ModelSpec spec = ModelSpec.parse("2-16-16-3", "relu", "", 1);
    String[] hashes = new String[4];
    for (int threads = 1; threads <= 4; threads++) {
      Network net = Network.initialize(spec);
      new LocalTrainer(net, config(60, 6, 2, "vector-512"), SPIRALS, threads).run(new TrainingListener() {});
      hashes[threads - 1] = net.sha256();
    }
    for (int i = 1; i < 4; i++) {
      assertEquals(hashes[0], hashes[i], (i + 1) + " threads");
    }
  }

  @Test
  void fullBatchGradientDescentAndSgdAreTheSameLoop() {
    ModelSpec spec = ModelSpec.parse("2-8-3", "tanh", "", 1);
    int n = SPIRALS.train().count();
    Network gd = Network.initialize(spec);
    LocalTrainer full = new LocalTrainer(gd, config(n, 4, 3, "ejml"), SPIRALS);
    assertEquals(3, full.totalSteps());
    Network sgd = Network.initialize(spec);
    LocalTrainer single = new LocalTrainer(sgd, config(1, 1, 1, "ejml"), SPIRALS);
    assertEquals(n, single.totalSteps());
    double first = full.step(0);
    double later = 0;
    for (int s = 1; s < 3; s++) {
      later = full.step(s);
    }
    assertTrue(later < first, first + " -> " + later);
  }

  /**
   * Staleness K by hand: step t's gradient on the weights after max(0, t-K) steps, summed exactly
   * over the micro-shards, applied by the optimizer to the current weights.
   */
  private static Network staleByHand(ModelSpec spec, TrainingConfig config, int k, int steps) {
    Network net = Network.initialize(spec);
    TrainingSetup setup = TrainingSetup.of(net, config, SPIRALS.train().count());
    ShardGradients shards = new ShardGradients(net, config.kernels(), 1, setup.plan(), SPIRALS.train());
    io.gradflow.common.reduce.ExactGradientSum sum = new io.gradflow.common.reduce.ExactGradientSum(net);
    Gradients gradient = new Gradients(spec);
    double[] loss = new double[config.microShards()];
    List<Network> history = new ArrayList<>(List.of(net.copy())); // history.get(v): the weights after v steps
    for (int t = 0; t < steps; t++) {
      shards.compute(history.get(Math.max(0, t - k)), t, 0, config.microShards(), sum, loss);
      setup.update().optimizer().step(net, sum, gradient, t);
      history.add(net.copy());
    }
    shards.close();
    return net;
  }

  @Test
  void stalenessComputesEachStepOnOlderWeightsExactlyAsTheFormulaSays() {
    ModelSpec spec = ModelSpec.parse("2-8-3", "tanh", "", 1);
    TrainingConfig sync = new TrainingConfig("spirals", 30, 3, 0.1, 0.9, 1e-4, LearningRateSchedule.Kind.CONSTANT, 0,
        0, 0.1, 1, 7, 3, "ejml");
    for (int k : new int[] {0, 1, 2}) {
      Network trained = Network.initialize(spec);
      LocalTrainer trainer = new LocalTrainer(trained, sync.withStaleness(k), SPIRALS);
      assertEquals(7, trainer.totalSteps());
      trainer.run(new TrainingListener() {});
      assertEquals(staleByHand(spec, sync, k, 7).sha256(), trained.sha256(), "staleness " + k);
    }
    Network synchronous = Network.initialize(spec);
    new LocalTrainer(synchronous, sync, SPIRALS).run(new TrainingListener() {});
    Network stale = Network.initialize(spec);
    new LocalTrainer(stale, sync.withStaleness(1), SPIRALS).run(new TrainingListener() {});
    assertNotEquals(synchronous.sha256(), stale.sha256());
  }

  @Test
  void stalenessIsValidated() {
    TrainingConfig sync = config(30, 3, 1, "ejml");
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> sync.withStaleness(TrainingConfig.MAX_STALENESS + 1));
    assertEquals("staleness must be in 0.." + TrainingConfig.MAX_STALENESS + ", got 9", e.getMessage());
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> sync.withStaleness(-1));
    assertEquals(1, TrainingConfig.fromProto(sync.withStaleness(1).toProto()).staleness());
  }
}
