package io.gradflow.common.graph;

import io.gradflow.common.model.Activation;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import java.util.ArrayList;
import java.util.List;

/**
 * The forward pass and loss of a (small) {@link Network} on a few input rows, unrolled into a
 * graph of {@link Scalar}s: one leaf per input and per weight and bias, one node per product, sum,
 * activation and loss. Same math as {@link io.gradflow.common.nn.Backprop}, in double:
 *
 * <pre>
 *   z_l[i,j]     = sum_k a_l[i,k] W_l[j,k] + b_l[j]       (a_0 = x)
 *   a_(l+1)[i,j] = f_l(z_l[i,j])                          (hidden layers only)
 *   ce[i]        = -ln softmax(z_(L-1)[i,:])_(t_i)
 *   loss         = (1/B) sum_i ce[i]
 * </pre>
 *
 * <p>After {@link #backward()}, {@link #gradient(int)} holds {@code d loss / d tensor} for each
 * tensor in {@link Network}'s canonical order, comparable with Backprop's {@code Gradients} at
 * {@code lossDenominator = B}. The graph has about {@code B * parameters} nodes: for small nets.
 */
public final class NetworkGraph {
  private final Scalar[][] parameters;
  private final Scalar loss;
  private final List<Scalar> nodes;

  private NetworkGraph(Scalar[][] parameters, Scalar loss) {
    this.parameters = parameters;
    this.loss = loss;
    this.nodes = loss.topologicalOrder();
  }

  /**
   * Builds the graph of {@code net} on the first {@code rows} rows of {@code inputs} ({@code rows x
   * inputSize}, row-major) with class labels {@code labels[0..rows)}.
   */
  public static NetworkGraph build(Network net, float[] inputs, int rows, int[] labels) {
    ModelSpec spec = net.spec();
    if (rows <= 0 || inputs.length < rows * spec.inputSize() || labels.length < rows) {
      throw new IllegalArgumentException(
          "need "
              + rows
              + " rows of "
              + spec.inputSize()
              + " inputs and "
              + rows
              + " labels, got "
              + inputs.length
              + " inputs and "
              + labels.length
              + " labels");
    }
    Scalar[][] params = new Scalar[net.tensorCount()][];
    for (int t = 0; t < params.length; t++) {
      float[] values = net.tensor(t);
      params[t] = new Scalar[values.length];
      for (int e = 0; e < values.length; e++) {
        params[t][e] = Scalar.of(values[e], elementName(net, t, e));
      }
    }
    int layers = spec.layerCount();
    List<Scalar> rowLosses = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      List<Scalar> a = new ArrayList<>();
      for (int k = 0; k < spec.inputSize(); k++) {
        a.add(Scalar.of(inputs[i * spec.inputSize() + k], "x[" + i + "," + k + "]"));
      }
      for (int l = 0; l < layers; l++) {
        Scalar[] w = params[2 * l];
        Scalar[] b = params[2 * l + 1];
        int in = spec.fanIn(l);
        List<Scalar> next = new ArrayList<>();
        for (int j = 0; j < spec.fanOut(l); j++) {
          List<Scalar> terms = new ArrayList<>();
          for (int k = 0; k < in; k++) {
            terms.add(a.get(k).mul(w[j * in + k]));
          }
          terms.add(b[j]);
          Scalar z = Scalar.sum(terms).withLabel("z" + l + "[" + i + "," + j + "]");
          next.add(l < layers - 1 ? activate(spec.activation(l), z, l + 1, i, j) : z);
        }
        a = next;
      }
      rowLosses.add(Scalar.softmaxCrossEntropy(a, labels[i]).withLabel("ce[" + i + "]"));
    }
    Scalar total = rows == 1 ? rowLosses.get(0) : Scalar.sum(rowLosses);
    return new NetworkGraph(params, total.scale(1.0 / rows).withLabel("loss"));
  }

  private static Scalar activate(Activation f, Scalar z, int layer, int row, int unit) {
    Scalar a =
        switch (f) {
          case SIGMOID -> z.sigmoid();
          case RELU -> z.relu();
          case TANH -> z.tanh();
          case IDENTITY -> z;
        };
    return a == z ? z : a.withLabel("a" + layer + "[" + row + "," + unit + "]");
  }

  /** {@code layer0.W[j,k]} for weights, {@code layer0.b[j]} for biases. */
  private static String elementName(Network net, int t, int e) {
    String name = Network.tensorName(t);
    if ((t & 1) == 1) {
      return name + "[" + e + "]";
    }
    int in = net.spec().fanIn(t >> 1);
    return name + "[" + (e / in) + "," + (e % in) + "]";
  }

  /** The root: mean cross-entropy over the rows. */
  public Scalar loss() {
    return loss;
  }

  /** Every node, inputs before the nodes made from them, ending with {@link #loss()}. */
  public List<Scalar> nodes() {
    return nodes;
  }

  public int tensorCount() {
    return parameters.length;
  }

  /** The leaf of element {@code index} of tensor {@code tensor} (canonical order). */
  public Scalar parameter(int tensor, int index) {
    return parameters[tensor][index];
  }

  /** Runs {@link Scalar#backward()} from the loss. */
  public void backward() {
    loss.backward();
  }

  /** {@code d loss / d tensor}, element by element, as of the last {@link #backward()}. */
  public double[] gradient(int tensor) {
    Scalar[] p = parameters[tensor];
    double[] g = new double[p.length];
    for (int e = 0; e < p.length; e++) {
      g[e] = p[e].grad();
    }
    return g;
  }
}
