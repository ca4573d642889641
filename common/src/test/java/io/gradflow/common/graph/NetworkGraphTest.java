package io.gradflow.common.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.kernels.EjmlKernels;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Backprop;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.util.SplitMix64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The matrix backprop (float32, EJML) against the scalar graph's backprop (double). */
class NetworkGraphTest {

  @ParameterizedTest(name = "{0} {1}, {2} rows")
  @CsvSource({
    "3-4-3, sigmoid, 2",
    "3-4-3, relu, 2",
    "3-4-3, tanh, 3",
    "4-5-4-3, sigmoid, 3",
    "4-5-4-3, relu, 3",
    "4-5-4-3, tanh, 2",
    "4-5-4-3, 'relu,tanh', 3",
    "4-5-4-3, 'sigmoid,relu', 2"
  })
  void matrixBackpropEqualsScalarGraphBackprop(String sizes, String activation, int rows) {
    long seed = 11;
    Network net = randomNetwork(ModelSpec.parse(sizes, activation, null, seed), seed);
    ModelSpec spec = net.spec();
    SplitMix64 rng = new SplitMix64(seed + 1);
    float[] x = new float[rows * spec.inputSize()];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (2 * rng.nextDouble() - 1);
    }
    int[] labels = new int[rows];
    for (int i = 0; i < rows; i++) {
      labels[i] = rng.nextInt(spec.outputSize());
    }

    Backprop bp = new Backprop(spec, new EjmlKernels(), rows);
    System.arraycopy(x, 0, bp.inputBuffer(), 0, x.length);
    Gradients grads = new Gradients(spec);
    double lossSum = bp.forwardBackward(net, labels, rows, rows, grads);

    NetworkGraph graph = NetworkGraph.build(net, x, rows, labels);
    graph.backward();

    assertEquals(lossSum / rows, graph.loss().value(), 1e-5, "mean cross-entropy");
    double largest = 0;
    for (int t = 0; t < net.tensorCount(); t++) {
      double[] scalar = graph.gradient(t);
      float[] matrix = grads.tensor(t);
      assertEquals(matrix.length, scalar.length);
      for (int e = 0; e < scalar.length; e++) {
        largest = Math.max(largest, Math.abs(scalar[e]));
        assertEquals(
            scalar[e],
            matrix[e],
            1e-6 + 1e-4 * Math.abs(scalar[e]),
            Network.tensorName(t) + "[" + e + "]");
      }
    }
    assertTrue(largest > 1e-2, "gradients are not all near zero: " + largest);
  }

  @Test
  void graphOfA222NetHasOneNodePerScalarOperation() {
    ModelSpec spec = ModelSpec.parse("2-2-2", "sigmoid", null, 3);
    NetworkGraph graph =
        NetworkGraph.build(Network.initialize(spec), new float[] {0.5f, -1f}, 1, new int[] {1});
    // 2 inputs + 12 parameters + 8 products + 4 sums + 2 sigmoids + 1 cross-entropy + 1 mean
    assertEquals(30, graph.nodes().size());
    assertEquals("loss", graph.loss().label());
    assertEquals("layer1.W[1,0]", graph.parameter(2, 2).label());
    assertEquals("layer0.b[1]", graph.parameter(1, 1).label());
  }

  @Test
  void rejectsTooFewInputsOrLabels() {
    Network net = Network.initialize(ModelSpec.parse("2-2-2", "tanh", null, 1));
    assertThrows(
        IllegalArgumentException.class,
        () -> NetworkGraph.build(net, new float[3], 2, new int[] {0, 1}));
    assertThrows(
        IllegalArgumentException.class,
        () -> NetworkGraph.build(net, new float[4], 2, new int[] {0}));
  }

  /** Initialised weights and random (non-zero) biases, so that biases matter too. */
  static Network randomNetwork(ModelSpec spec, long seed) {
    Network net = Network.initialize(spec);
    SplitMix64 rng = new SplitMix64(seed ^ 0x5DEECE66DL);
    for (int l = 0; l < net.layerCount(); l++) {
      float[] b = net.biases(l);
      for (int j = 0; j < b.length; j++) {
        b[j] = (float) (0.4 * rng.nextDouble() - 0.2);
      }
    }
    return net;
  }
}
