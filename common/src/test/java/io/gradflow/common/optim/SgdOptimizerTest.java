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
}
