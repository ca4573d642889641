package io.gradflow.common.gradcheck;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.kernels.EjmlKernels;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GradCheckTest {
  private static final int BATCH = 4;

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({
    "7-6-5-3, sigmoid",
    "7-6-5-3, relu",
    "7-6-5-3, tanh",
    "7-6-5-4-3, sigmoid",
    "7-6-5-4-3, relu",
    "7-6-5-4-3, tanh"
  })
  void backpropPassesForEveryElementOfEveryTensor(String sizes, String activation) {
    ModelSpec spec = ModelSpec.parse(sizes, activation, null, 1);
    GradCheckResult r = new GradCheck(new EjmlKernels()).check(spec, BATCH, 1);

    assertTrue(r.passed(), () -> describe(r));
    assertEquals(2 * spec.layerCount(), r.tensors().size());
    double largestGradient = 0;
    for (int t = 0; t < r.tensors().size(); t++) {
      TensorCheck c = r.tensors().get(t);
      assertEquals(Network.tensorName(t), c.name());
      assertEquals(Network.initialize(spec).tensor(t).length, c.elements());
      assertEquals(c.elements(), c.checked() + c.skippedKinks());
      assertTrue(c.maxRelativeError() <= GradCheck.DEFAULT_TOLERANCE, c.name());
      largestGradient = Math.max(largestGradient, Math.abs(c.worstBackprop()));
    }
    // Not vacuous: most elements were compared, and the gradients are far from zero.
    assertTrue(r.skippedKinks() <= r.parameterCount() / 10, () -> describe(r));
    assertTrue(largestGradient > 1e-3, "largest gradient " + largestGradient);
    assertEquals(spec.parameterCount(), r.parameterCount());
    assertEquals(2 * spec.parameterCount(), r.finiteDifferenceForwardPasses());
    assertEquals(1, r.backpropForwardPasses());
    assertEquals(1, r.backpropBackwardPasses());
    assertEquals(
        activation.equals("relu") ? 2 * spec.parameterCount() : 0, r.kinkCheckForwardPasses());
    assertTrue(r.loss() > 0.5 && r.loss() < 3, "mean cross-entropy " + r.loss());
  }

  @Test
  void failsWhenOneGradientElementIsTenPercentOff() {
    ModelSpec spec = ModelSpec.parse("7-6-5-3", "sigmoid", null, 1);
    int tensor = 2; // layer1.W
    int[] corrupted = new int[1];
    GradCheck.GradientSource backprop = GradCheck.backprop(new EjmlKernels());
    GradCheck.GradientSource wrong =
        (net, inputs, labels, rows, out) -> {
          backprop.gradients(net, inputs, labels, rows, out);
          float[] g = out.tensor(tensor);
          int largest = 0;
          for (int e = 1; e < g.length; e++) {
            largest = Math.abs(g[e]) > Math.abs(g[largest]) ? e : largest;
          }
          g[largest] *= 1.1f;
          corrupted[0] = largest;
        };
    GradCheckResult r =
        new GradCheck(new EjmlKernels()).withGradientSource(wrong).check(spec, 4, 1);

    assertFalse(r.passed());
    for (int t = 0; t < r.tensors().size(); t++) {
      assertEquals(t != tensor, r.tensors().get(t).passed(), r.tensors().get(t).name());
    }
    TensorCheck bad = r.tensors().get(tensor);
    assertEquals(corrupted[0], bad.worstIndex());
    assertTrue(bad.maxRelativeError() > 0.04, "relative error " + bad.maxRelativeError());
    assertEquals(1.1, bad.worstBackprop() / bad.worstNumeric(), 1e-2);
  }

  @Test
  void failsEverywhereWhenTheMeanIsMissingItsOneOverB() {
    ModelSpec spec = ModelSpec.parse("7-6-5-4-3", "tanh", null, 2);
    GradCheck.GradientSource backprop = GradCheck.backprop(new EjmlKernels());
    GradCheck.GradientSource summed =
        (net, inputs, labels, rows, out) -> {
          backprop.gradients(net, inputs, labels, rows, out);
          scaleAll(out, rows);
        };
    GradCheckResult r =
        new GradCheck(new EjmlKernels()).withGradientSource(summed).check(spec, 4, 2);
    assertFalse(r.passed());
    for (TensorCheck c : r.tensors()) {
      assertFalse(c.passed(), c.name());
      assertTrue(c.maxRelativeError() > 0.5, c.name() + " " + c.maxRelativeError());
    }
  }

  @Test
  void failsWhenABiasGradientHasTheWrongSign() {
    ModelSpec spec = ModelSpec.parse("7-6-5-3", "relu", null, 3);
    GradCheck.GradientSource backprop = GradCheck.backprop(new EjmlKernels());
    GradCheck.GradientSource flipped =
        (net, inputs, labels, rows, out) -> {
          backprop.gradients(net, inputs, labels, rows, out);
          float[] db = out.biases(2);
          for (int j = 0; j < db.length; j++) {
            db[j] = -db[j];
          }
        };
    GradCheckResult r =
        new GradCheck(new EjmlKernels()).withGradientSource(flipped).check(spec, 4, 3);
    assertFalse(r.passed());
    assertEquals("layer2.b", r.tensors().get(5).name());
    assertFalse(r.tensors().get(5).passed());
    assertEquals(1.0, r.tensors().get(5).maxRelativeError(), 1e-3);
    assertTrue(r.tensors().subList(0, 5).stream().allMatch(TensorCheck::passed));
  }

  @Test
  void skipsAndCountsElementsWhoseStepCrossesAReluKink() {
    // 2-2-2 relu, x = (1, 1): z0_0 = 0.004 sits within eps = 1e-2 of the kink.
    Network net = new Network(ModelSpec.parse("2-2-2", "relu", null, 1));
    System.arraycopy(new float[] {0.5f, -0.5f, 0.3f, 0.6f}, 0, net.weights(0), 0, 4);
    System.arraycopy(new float[] {0.004f, 0.1f}, 0, net.biases(0), 0, 2);
    System.arraycopy(new float[] {1f, -0.5f, -1f, 0.75f}, 0, net.weights(1), 0, 4);
    float[] x = {1f, 1f};
    int[] labels = {1};

    GradCheckResult r = new GradCheck(new EjmlKernels()).check(net, x, labels, 1);

    // Stepping W0[0,0], W0[0,1] or b0[0] by 1e-2 moves z0_0 by 1e-2 across 0; nothing else does.
    assertEquals(2, r.tensors().get(0).skippedKinks());
    assertEquals(1, r.tensors().get(1).skippedKinks());
    assertEquals(3, r.skippedKinks());
    assertEquals(0, r.tensors().get(2).skippedKinks());
    assertTrue(r.passed(), () -> describe(r));
  }

  @Test
  void leavesTheNetworkUnchanged() {
    Network net = Network.initialize(ModelSpec.parse("7-6-5-3", "tanh", null, 4));
    String before = net.sha256();
    ModelSpec spec = net.spec();
    new GradCheck(new EjmlKernels())
        .check(net, GradCheck.randomInputs(spec, 3, 4), GradCheck.randomLabels(spec, 3, 4), 3);
    assertEquals(before, net.sha256());
  }

  @Test
  void randomProblemsAreSeededAndInRange() {
    ModelSpec spec = ModelSpec.parse("7-6-5-3", "tanh", null, 1);
    float[] x = GradCheck.randomInputs(spec, 4, 9);
    assertEquals(28, x.length);
    assertArrayEquals(x, GradCheck.randomInputs(spec, 4, 9));
    for (float v : x) {
      assertTrue(v >= -1 && v < 1, "input " + v);
    }
    assertFalse(Arrays.equals(x, GradCheck.randomInputs(spec, 4, 10)));
    int[] labels = GradCheck.randomLabels(spec, 50, 9);
    assertArrayEquals(labels, GradCheck.randomLabels(spec, 50, 9));
    boolean[] seen = new boolean[3];
    for (int t : labels) {
      seen[t] = true;
    }
    assertArrayEquals(new boolean[] {true, true, true}, seen);
  }

  @Test
  void rejectsBadSettings() {
    EjmlKernels k = new EjmlKernels();
    assertThrows(IllegalArgumentException.class, () -> new GradCheck(k, 0, 1e-2));
    assertThrows(IllegalArgumentException.class, () -> new GradCheck(k, Double.NaN, 1e-2));
    assertThrows(IllegalArgumentException.class, () -> new GradCheck(k, 1e-2, -1));
    Network net = Network.initialize(ModelSpec.parse("2-2-2", "tanh", null, 1));
    assertThrows(
        IllegalArgumentException.class,
        () -> new GradCheck(k).check(net, new float[2], new int[] {0, 1}, 2));
  }

  private static void scaleAll(Gradients g, float k) {
    for (int t = 0; t < g.tensorCount(); t++) {
      float[] v = g.tensor(t);
      for (int e = 0; e < v.length; e++) {
        v[e] *= k;
      }
    }
  }

  private static String describe(GradCheckResult r) {
    StringBuilder sb = new StringBuilder();
    for (TensorCheck c : r.tensors()) {
      sb.append(
          String.format(
              "%s rel=%.2e abs=%.2e skipped=%d worst a=%.4e n=%.4e%n",
              c.name(),
              c.maxRelativeError(),
              c.maxAbsoluteError(),
              c.skippedKinks(),
              c.worstBackprop(),
              c.worstNumeric()));
    }
    return sb.toString();
  }
}
