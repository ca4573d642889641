package io.gradflow.common.graph;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;

/**
 * A 2-2-2 sigmoid net with hand-picked weights on the input row {@code x = (1, 2)}, label 0, and
 * its forward and backward values worked out by hand (in plain double arithmetic, independent of
 * {@link Scalar}).
 */
final class GraphFixtures {
  static final float[] W0 = {0.5f, -0.5f, 0.25f, 1f};
  static final float[] B0 = {0f, 0.1f};
  static final float[] W1 = {1f, -1f, 0.5f, 0.5f};
  static final float[] B1 = {0f, 0f};
  static final float[] X = {1f, 2f};
  static final int LABEL = 0;

  // Forward: z0 = W0 x + b0, a = sigmoid(z0), logits = W1 a + b1, p = softmax, loss = -ln p_0.
  static final double Z00 = 0.5 * 1 - 0.5 * 2;
  static final double Z01 = 0.25 * 1 + 1 * 2 + (double) 0.1f;
  static final double A0 = 1 / (1 + Math.exp(-Z00));
  static final double A1 = 1 / (1 + Math.exp(-Z01));
  static final double L0 = A0 - A1;
  static final double L1 = 0.5 * A0 + 0.5 * A1;
  static final double P0 = Math.exp(L0) / (Math.exp(L0) + Math.exp(L1));
  static final double P1 = 1 - P0;
  static final double LOSS = -Math.log(P0);
  // Backward: dlogits = p - t; dW1[j,k] = dlogit_j a_k; da = W1^T dlogits; dz0 = da a (1 - a).
  static final double DW1_00 = (P0 - 1) * A0;
  static final double DA1 = (P0 - 1) * -1 + P1 * 0.5;
  static final double DB0_1 = DA1 * A1 * (1 - A1);
  static final double DW0_11 = DB0_1 * 2;

  private GraphFixtures() {}

  static Network handPickedNet() {
    Network net = new Network(ModelSpec.parse("2-2-2", "sigmoid", null, 1));
    System.arraycopy(W0, 0, net.weights(0), 0, 4);
    System.arraycopy(B0, 0, net.biases(0), 0, 2);
    System.arraycopy(W1, 0, net.weights(1), 0, 4);
    System.arraycopy(B1, 0, net.biases(1), 0, 2);
    return net;
  }

  /** The graph of {@link #handPickedNet()} after its backward pass. */
  static NetworkGraph handPickedGraph() {
    NetworkGraph graph = NetworkGraph.build(handPickedNet(), X, 1, new int[] {LABEL});
    graph.backward();
    return graph;
  }
}
