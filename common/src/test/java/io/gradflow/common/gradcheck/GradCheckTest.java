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

  @ParameterizedTest(name = "{0} {1} {2}")
  @CsvSource({
    "7-6-5-3, sigmoid, DOUBLE",
    "7-6-5-3, relu, DOUBLE",
    "7-6-5-3, tanh, DOUBLE",
    "7-6-5-4-3, sigmoid, DOUBLE",
    "7-6-5-4-3, relu, DOUBLE",
    "7-6-5-4-3, tanh, DOUBLE",
    "7-6-5-3, sigmoid, FLOAT32",
    "7-6-5-3, relu, FLOAT32",
    "7-6-5-3, tanh, FLOAT32",
    "7-6-5-4-3, sigmoid, FLOAT32",
    "7-6-5-4-3, relu, FLOAT32",
    "7-6-5-4-3, tanh, FLOAT32"
  })
  void backpropPassesForEveryElementOfEveryTensor(String sizes, String activation, GradCheck.Precision precision) {
    ModelSpec spec = ModelSpec.parse(sizes, activation, null, 1);
    GradCheckResult r = new GradCheck(new EjmlKernels(), precision).check(spec, BATCH, 1);

    assertTrue(r.passed(), () -> describe(r));
    assertEquals(precision, r.precision());
    assertEquals(precision == GradCheck.Precision.DOUBLE ? 1e-4 : 2e-2, r.tolerance());
    assertEquals(precision == GradCheck.Precision.DOUBLE ? 1e-6 : 1e-2, r.eps());
    assertEquals(2 * spec.layerCount(), r.tensors().size());
    double largestGradient = 0;
    for (int t = 0; t < r.tensors().size(); t++) {
      TensorCheck c = r.tensors().get(t);
      assertEquals(Network.tensorName(t), c.name());
      assertEquals(Network.initialize(spec).tensor(t).length, c.elements());
      assertEquals(c.elements(), c.checked() + c.skippedKinks());
      assertTrue(c.maxRelativeError() <= r.tolerance(), c.name());
      largestGradient = Math.max(largestGradient, Math.abs(c.worstBackprop()));
    }
    // Not vacuous: most elements were compared, and the gradients are far from zero.
    assertTrue(r.skippedKinks() <= r.parameterCount() / 10, () -> describe(r));
    assertTrue(largestGradient > 1e-3, "largest gradient " + largestGradient);
    assertEquals(spec.parameterCount(), r.parameterCount());
    assertEquals(2 * spec.parameterCount(), r.finiteDifferenceForwardPasses());
    assertEquals(1, r.backpropForwardPasses());
    assertEquals(1, r.backpropBackwardPasses());
    boolean extraPasses = activation.equals("relu") && precision == GradCheck.Precision.FLOAT32;
    assertEquals(extraPasses ? 2 * spec.parameterCount() : 0, r.kinkCheckForwardPasses());
    assertTrue(r.loss() > 0.5 && r.loss() < 3, "mean cross-entropy " + r.loss());
  }

  /**
   * Finite differences in double check backprop to 1e-4 on sigmoid, tanh and relu nets (relu away
   * from kinks) of several depths, seeds and batches; the largest error stays well below it.
   */
  @ParameterizedTest
  @CsvSource({"sigmoid", "tanh", "relu"})
  void inDoubleBackpropIsWithinOneInTenThousandOnManySeededNets(String activation) {
    double largest = 0;
    long skipped = 0;
    long parameters = 0;
    for (String sizes : new String[] {"3-4-3", "7-6-5-3", "7-6-5-4-3", "10-8-8-8-4"}) {
      for (int s = 1; s <= 50; s++) {
        int seed = s;
        int batch = 1 + seed % 8;
        GradCheckResult r = new GradCheck(new EjmlKernels()).check(ModelSpec.parse(sizes, activation, null, seed), batch, seed);
        assertTrue(r.passed(), () -> sizes + " seed " + seed + "\n" + describe(r));
        largest = Math.max(largest, r.maxRelativeError());
        skipped += r.skippedKinks();
        parameters += r.parameterCount();
      }
    }
    assertTrue(largest < 5e-5, activation + ": largest relative error " + largest);
    assertTrue(skipped <= parameters / 100, skipped + " of " + parameters + " elements skipped at kinks");
  }

  @Test
  void inDoubleOneElementOffByATenthOfAPercentFailsWhereFloat32CannotTell() {
    ModelSpec spec = ModelSpec.parse("7-6-5-3", "tanh", null, 1);
    int tensor = 0; // layer0.W
    GradCheck.GradientSource slightlyWrong = largestElementScaled(tensor, 1.001f, new int[1]);
    GradCheckResult exact = new GradCheck(new EjmlKernels()).withGradientSource(slightlyWrong).check(spec, 4, 1);
    assertFalse(exact.passed());
    assertFalse(exact.tensors().get(tensor).passed());
    assertEquals(5e-4, exact.tensors().get(tensor).maxRelativeError(), 1e-4);
    assertTrue(exact.tensors().stream().filter(c -> c != exact.tensors().get(tensor)).allMatch(TensorCheck::passed));
    GradCheckResult loose =
        new GradCheck(new EjmlKernels(), GradCheck.Precision.FLOAT32).withGradientSource(slightlyWrong).check(spec, 4, 1);
    assertTrue(loose.passed(), () -> describe(loose));
  }

  /**
   * A sign flipped in one activation's rule ({@code 1 - a^2} written {@code a^2 - 1} for the tanh of
   * hidden layer 1) negates {@code dZ} there, so the gradients of layers 1 and 0 come out negated;
   * the output layer's stay right. Every precision catches it in exactly those tensors.
   */
  @ParameterizedTest
  @CsvSource({"DOUBLE", "FLOAT32"})
  void failsWhenTheSignOfOneActivationRuleIsFlipped(GradCheck.Precision precision) {
    ModelSpec spec = ModelSpec.parse("7-6-5-3", "tanh", null, 5);
    GradCheck.GradientSource backprop = GradCheck.backprop(new EjmlKernels());
    GradCheck.GradientSource flipped =
        (net, inputs, labels, rows, out) -> {
          backprop.gradients(net, inputs, labels, rows, out);
          for (int t = 0; t < 4; t++) { // layer0.W, layer0.b, layer1.W, layer1.b
            float[] g = out.tensor(t);
            for (int e = 0; e < g.length; e++) {
              g[e] = -g[e];
            }
          }
        };
    GradCheckResult r = new GradCheck(new EjmlKernels(), precision).withGradientSource(flipped).check(spec, 4, 5);
    assertFalse(r.passed());
    for (int t = 0; t < r.tensors().size(); t++) {
      TensorCheck c = r.tensors().get(t);
      assertEquals(t >= 4, c.passed(), c.name());
      if (t < 4) {
        assertEquals(1.0, c.maxRelativeError(), 1e-3, c.name());
      }
    }
  }

  @Test
  void failsWhenOneGradientElementIsTenPercentOff() {
    ModelSpec spec = ModelSpec.parse("7-6-5-3", "sigmoid", null, 1);
    int tensor = 2; // layer1.W
    int[] corrupted = new int[1];
    GradCheck.GradientSource wrong = largestElementScaled(tensor, 1.1f, corrupted);
    GradCheckResult r =
        new GradCheck(new EjmlKernels(), GradCheck.Precision.FLOAT32).withGradientSource(wrong).check(spec, 4, 1);

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

    GradCheckResult r = new GradCheck(new EjmlKernels(), GradCheck.Precision.FLOAT32).check(net, x, labels, 1);

    // Stepping W0[0,0], W0[0,1] or b0[0] by 1e-2 moves z0_0 by 1e-2 across 0; nothing else does.
    assertEquals(2, r.tensors().get(0).skippedKinks());
    assertEquals(1, r.tensors().get(1).skippedKinks());
    assertEquals(3, r.skippedKinks());
    assertEquals(0, r.tensors().get(2).skippedKinks());
    assertTrue(r.passed(), () -> describe(r));

    // In double, with a step of 5e-3 the same three cross; with the default 1e-6, none does.
    GradCheckResult wide = new GradCheck(new EjmlKernels(), GradCheck.Precision.DOUBLE, 5e-3, 1e-4).check(net, x, labels, 1);
    assertEquals(3, wide.skippedKinks());
    assertEquals(0, wide.kinkCheckForwardPasses(), "the double pass finds kinks itself");
    assertTrue(wide.passed(), () -> describe(wide));
    assertEquals(0, new GradCheck(new EjmlKernels()).check(net, x, labels, 1).skippedKinks());
  }

  @Test
  void leavesTheNetworkUnchanged() {
    Network net = Network.initialize(ModelSpec.parse("7-6-5-3", "tanh", null, 4));
    String before = net.sha256();
    ModelSpec spec = net.spec();
    for (GradCheck.Precision p : GradCheck.Precision.values()) {
      new GradCheck(new EjmlKernels(), p)
          .check(net, GradCheck.randomInputs(spec, 3, 4), GradCheck.randomLabels(spec, 3, 4), 3);
      assertEquals(before, net.sha256(), p.id());
    }
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
    assertThrows(IllegalArgumentException.class, () -> new GradCheck(k, GradCheck.Precision.DOUBLE, 0, 1e-2));
    assertThrows(IllegalArgumentException.class, () -> new GradCheck(k, GradCheck.Precision.DOUBLE, Double.NaN, 1e-2));
    assertThrows(IllegalArgumentException.class, () -> new GradCheck(k, GradCheck.Precision.DOUBLE, 1e-2, -1));
    assertEquals(GradCheck.Precision.FLOAT32, GradCheck.Precision.parse(" Float32"));
    assertEquals("precision 'half': expected double or float32",
        assertThrows(IllegalArgumentException.class, () -> GradCheck.Precision.parse("half")).getMessage());
    Network net = Network.initialize(ModelSpec.parse("2-2-2", "tanh", null, 1));
    assertThrows(
        IllegalArgumentException.class,
        () -> new GradCheck(k).check(net, new float[2], new int[] {0, 1}, 2));
  }

  /** Backprop with the largest element of one tensor's gradient scaled by {@code k}; its index into {@code at[0]}. */
  private static GradCheck.GradientSource largestElementScaled(int tensor, float k, int[] at) {
    GradCheck.GradientSource backprop = GradCheck.backprop(new EjmlKernels());
    return (net, inputs, labels, rows, out) -> {
      backprop.gradients(net, inputs, labels, rows, out);
      float[] g = out.tensor(tensor);
      int largest = 0;
      for (int e = 1; e < g.length; e++) {
        largest = Math.abs(g[e]) > Math.abs(g[largest]) ? e : largest;
      }
      g[largest] *= k;
      at[0] = largest;
    };
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
