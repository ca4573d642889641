package io.gradflow.common.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import org.junit.jupiter.api.Test;

class SgdOptimizerTest {
  private final ModelSpec spec = ModelSpec.parse("2-2", "relu", "", 1);

  @Test
  void momentumAndWeightDecayFollowTorchSgd() {
    Network net = new Network(spec);
    net.weights(0)[0] = 1f;
    net.biases(0)[0] = 1f;
    Gradients g = new Gradients(spec);
    g.weights(0)[0] = 0.5f;
    g.biases(0)[0] = 0.5f;
    SgdOptimizer opt = new SgdOptimizer(net, LearningRateSchedule.constant(0.1), 0.9, 0.01);
    opt.step(net, g, 0);
    // v = g + wd*w = 0.51; w = 1 - 0.1*0.51 (bias: no decay, v = 0.5)
    assertEquals(1f - 0.1f * 0.51f, net.weights(0)[0], 1e-7);
    assertEquals(0.95f, net.biases(0)[0], 1e-7);
    float w1 = net.weights(0)[0];
    opt.step(net, g, 1);
    float v2 = 0.9f * 0.51f + (0.5f + 0.01f * w1);
    assertEquals(w1 - 0.1f * v2, net.weights(0)[0], 1e-7);
    assertEquals(0.95f - 0.1f * (0.9f * 0.5f + 0.5f), net.biases(0)[0], 1e-7);
  }

  @Test
  void plainSgdWithoutMomentum() {
    Network net = new Network(spec);
    Gradients g = new Gradients(spec);
    g.weights(0)[1] = 2f;
    new SgdOptimizer(net, LearningRateSchedule.constant(0.25), 0, 0).step(net, g, 0);
    assertEquals(-0.5f, net.weights(0)[1]);
  }

  @Test
  void schedules() {
    LearningRateSchedule cosine =
        new LearningRateSchedule(LearningRateSchedule.Kind.COSINE, 1.0, 100, 0, 1, 1);
    assertEquals(1f, cosine.rate(0));
    assertEquals(0.5f, cosine.rate(50), 1e-6);
    assertEquals(0f, cosine.rate(100), 1e-6);
    LearningRateSchedule step =
        new LearningRateSchedule(LearningRateSchedule.Kind.STEP, 1.0, 100, 0, 10, 0.1);
    assertEquals(1f, step.rate(9));
    assertEquals(0.1f, step.rate(10), 1e-7);
    assertEquals(0.01f, step.rate(25), 1e-8);
    LearningRateSchedule warm =
        new LearningRateSchedule(LearningRateSchedule.Kind.CONSTANT, 1.0, 100, 4, 1, 1);
    assertEquals(0.25f, warm.rate(0));
    assertEquals(1f, warm.rate(3));
    assertEquals(1f, warm.rate(50));
    LearningRateSchedule warmCosine =
        new LearningRateSchedule(LearningRateSchedule.Kind.COSINE, 1.0, 104, 4, 1, 1);
    assertEquals(1f, warmCosine.rate(4), 1e-6);
    assertEquals(0.5f, warmCosine.rate(54), 1e-6);
  }

  @Test
  void refusesBadHyperParameters() {
    Network net = new Network(spec);
    assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.constant(0));
    assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.constant(Double.NaN));
    assertThrows(IllegalArgumentException.class,
        () -> new SgdOptimizer(net, LearningRateSchedule.constant(0.1), 1.0, 0));
    assertThrows(IllegalArgumentException.class,
        () -> new SgdOptimizer(net, LearningRateSchedule.constant(0.1), 0.5, -1));
  }

  /**
   * The server's update, which spends its sum instead of clearing it and may skip the gradient,
   * gives the weights and momentum of the step that clears and stores, step after step, and its
   * sum then counts as zero.
   */
  @Test
  void stepAndSpendGivesTheBitsOfTheClearingStep() {
    ModelSpec wide = ModelSpec.parse("40-24-3", "relu", "", 1);
    Network a = Network.initialize(wide);
    Network b = a.copy();
    SgdOptimizer clearing = new SgdOptimizer(a, LearningRateSchedule.constant(0.05), 0.9, 5e-4);
    SgdOptimizer spending = new SgdOptimizer(b, LearningRateSchedule.constant(0.05), 0.9, 5e-4);
    io.gradflow.common.reduce.ExactGradientSum sumA = new io.gradflow.common.reduce.ExactGradientSum(a);
    io.gradflow.common.reduce.ExactGradientSum sumB = new io.gradflow.common.reduce.ExactGradientSum(b);
    io.gradflow.common.util.SplitMix64 rng = new io.gradflow.common.util.SplitMix64(5);
    for (long step = 0; step < 3; step++) {
      for (int t = 0; t < sumA.tensorCount(); t++) {
        long[] q = new long[sumA.tensor(t).length];
        for (int i = 0; i < q.length; i++) {
          q[i] = (long) (rng.nextGaussian() * 0x1p36);
        }
        sumA.addFixed(t, 0, q, q.length);
        sumB.exchange(t, q.clone());
      }
      clearing.step(a, sumA, null, new Gradients(wide), step, null, null);
      spending.stepAndSpend(b, sumB, null, step % 2 == 0 ? null : new Gradients(wide), step);
      assertEquals(a.sha256(), b.sha256(), "step " + step);
      for (int t = 0; t < sumB.tensorCount(); t++) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(new long[sumB.tensor(t).length], sumB.tensor(t));
        org.junit.jupiter.api.Assertions.assertArrayEquals(clearing.velocity(t), spending.velocity(t));
      }
    }
  }
}
