package io.gradflow.common.graph;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * One node of a scalar autograd graph (micrograd style), in double precision: a forward {@link
 * #value()}, the gradient {@link #grad()} of the graph's root with respect to it, a label, the op
 * that made it and the nodes it was made from.
 *
 * <p>Every op computes its value now and records its local gradient rule, which {@link #backward()}
 * runs in reverse topological order. Each rule adds {@code upstream * local derivative} into its
 * inputs' gradients ({@code +=}, so a node used twice collects both contributions):
 *
 * <ul>
 *   <li>add {@code a + b}: broadcasts, {@code da += up}, {@code db += up}
 *   <li>scale {@code k a}: {@code da += k up}
 *   <li>multiply {@code a b}: swaps, {@code da += b up}, {@code db += a up}
 *   <li>max {@code max(a, b)} and relu {@code max(z, 0)}: switches, the larger input takes {@code
 *       up}, the other gets nothing (ties go to {@code a}; relu passes nothing at {@code z = 0})
 *   <li>sigmoid {@code s = 1/(1+e^-z)}: {@code dz += s (1 - s) up}
 *   <li>tanh {@code t}: {@code dz += (1 - t^2) up}
 *   <li>exp {@code e = e^a}: {@code da += e up}; log {@code ln a}: {@code da += up / a}
 *   <li>reciprocal {@code 1/a}: {@code da += -up / a^2}; divide {@code a / b} is {@code a * (1/b)}
 *   <li>softmax cross-entropy of logits {@code z} and target {@code t}: {@code L = -ln p_t} with
 *       {@code p = softmax(z)}; {@code dz_j += (p_j - [j = t]) up}
 * </ul>
 *
 * <p>Transcendentals use {@link StrictMath}, like the matrix code.
 */
public final class Scalar {
  private final double value;
  private double grad;
  private String label;
  private final String op;
  private final List<Scalar> children;
  /** Adds this node's upstream gradient into its children's gradients; no-op for leaves. */
  private Runnable backwardRule = () -> {};

  private Scalar(double value, String label, String op, List<Scalar> children) {
    this.value = value;
    this.label = label;
    this.op = op;
    this.children = children;
  }

  private Scalar(double value, String op, Scalar... children) {
    this(value, "", op, List.of(children));
  }

  /** A leaf (an input or a parameter): op {@code ""}, no children. */
  public static Scalar of(double value, String label) {
    return new Scalar(value, label, "", List.of());
  }

  /** A leaf without a label. */
  public static Scalar of(double value) {
    return of(value, "");
  }

  public double value() {
    return value;
  }

  /** {@code d root / d this} after the root's {@link #backward()}; 0 before. */
  public double grad() {
    return grad;
  }

  public String label() {
    return label;
  }

  /** The op that produced this node ({@code "+", "*", "relu", ...}); {@code ""} for leaves. */
  public String op() {
    return op;
  }

  /** The inputs of the op, in argument order; empty for leaves. */
  public List<Scalar> children() {
    return children;
  }

  public boolean isLeaf() {
    return children.isEmpty();
  }

  /** Sets this node's label (for reading graphs) and returns it. */
  public Scalar withLabel(String newLabel) {
    this.label = newLabel;
    return this;
  }

  /** {@code a + b}; the gradient broadcasts: both inputs get the upstream gradient. */
  public Scalar add(Scalar b) {
    Scalar a = this;
    Scalar out = new Scalar(a.value + b.value, "+", a, b);
    out.backwardRule = () -> {
      a.grad += out.grad;
      b.grad += out.grad;
    };
    return out;
  }

  /**
   * {@code x_0 + x_1 + ... + x_(n-1)} as one node, summed left to right; the gradient broadcasts
   * to every term.
   */
  public static Scalar sum(List<Scalar> terms) {
    if (terms.isEmpty()) {
      throw new IllegalArgumentException("sum of no terms");
    }
    double s = 0;
    for (Scalar t : terms) {
      s += t.value;
    }
    List<Scalar> in = List.copyOf(terms);
    Scalar out = new Scalar(s, "", "+", in);
    out.backwardRule = () -> {
      for (Scalar t : in) {
        t.grad += out.grad;
      }
    };
    return out;
  }

  /** {@code k a} for a constant {@code k}; the gradient is multiplied by {@code k}. */
  public Scalar scale(double k) {
    Scalar a = this;
    Scalar out = new Scalar(k * a.value, "*" + formatConstant(k), a);
    out.backwardRule = () -> a.grad += k * out.grad;
    return out;
  }

  /** {@code a b}; the gradient swaps: {@code da = b up}, {@code db = a up}. */
  public Scalar mul(Scalar b) {
    Scalar a = this;
    Scalar out = new Scalar(a.value * b.value, "*", a, b);
    out.backwardRule = () -> {
      a.grad += b.value * out.grad;
      b.grad += a.value * out.grad;
    };
    return out;
  }

  /** {@code max(a, b)}; the gradient switches to the larger input ({@code a} on a tie). */
  public Scalar max(Scalar b) {
    Scalar a = this;
    boolean first = a.value >= b.value;
    Scalar out = new Scalar(first ? a.value : b.value, "max", a, b);
    out.backwardRule = () -> (first ? a : b).grad += out.grad;
    return out;
  }

  /**
   * {@code max(z, 0)}: the max switch against a constant 0; the gradient passes where {@code z >
   * 0} (as {@link io.gradflow.common.model.Activation#RELU}, which passes nothing at 0).
   */
  public Scalar relu() {
    Scalar z = this;
    boolean on = z.value > 0;
    Scalar out = new Scalar(on ? z.value : 0.0, "relu", z);
    out.backwardRule = () -> z.grad += on ? out.grad : 0.0;
    return out;
  }

  /** {@code s = 1 / (1 + e^-z)}; {@code dz = s (1 - s) up}. */
  public Scalar sigmoid() {
    Scalar z = this;
    double s = 1.0 / (1.0 + StrictMath.exp(-z.value));
    Scalar out = new Scalar(s, "sigmoid", z);
    out.backwardRule = () -> z.grad += s * (1 - s) * out.grad;
    return out;
  }

  /** {@code t = tanh z}; {@code dz = (1 - t^2) up}. */
  public Scalar tanh() {
    Scalar z = this;
    double t = StrictMath.tanh(z.value);
    Scalar out = new Scalar(t, "tanh", z);
    out.backwardRule = () -> z.grad += (1 - t * t) * out.grad;
    return out;
  }

  /** {@code e = e^a}; {@code da = e up}. */
  public Scalar exp() {
    Scalar a = this;
    double e = StrictMath.exp(a.value);
    Scalar out = new Scalar(e, "exp", a);
    out.backwardRule = () -> a.grad += e * out.grad;
    return out;
  }

  /** {@code ln a} for {@code a > 0}; {@code da = up / a}. */
  public Scalar log() {
    Scalar a = this;
    Scalar out = new Scalar(StrictMath.log(a.value), "log", a);
    out.backwardRule = () -> a.grad += out.grad / a.value;
    return out;
  }

  /** {@code 1 / a}; {@code da = -up / a^2}. */
  public Scalar reciprocal() {
    Scalar a = this;
    Scalar out = new Scalar(1.0 / a.value, "1/x", a);
    out.backwardRule = () -> a.grad += -out.grad / (a.value * a.value);
    return out;
  }

  /** {@code a / b}, built as {@code a * (1/b)}: it reuses the multiply and reciprocal rules. */
  public Scalar div(Scalar b) {
    return mul(b.reciprocal());
  }

  /**
   * Fused softmax cross-entropy of one row: {@code L = -ln p_t} with {@code p_j = e^(z_j - m) /
   * sum_k e^(z_k - m)}, {@code m = max z}; the gradient is {@code dz_j = (p_j - [j = t]) up}.
   */
  public static Scalar softmaxCrossEntropy(List<Scalar> logits, int target) {
    int n = logits.size();
    if (target < 0 || target >= n) {
      throw new IllegalArgumentException("target " + target + " is out of range 0.." + (n - 1));
    }
    double max = Double.NEGATIVE_INFINITY;
    for (Scalar z : logits) {
      max = Math.max(max, z.value);
    }
    double[] p = new double[n];
    double sum = 0;
    for (int j = 0; j < n; j++) {
      p[j] = StrictMath.exp(logits.get(j).value - max);
      sum += p[j];
    }
    for (int j = 0; j < n; j++) {
      p[j] /= sum;
    }
    List<Scalar> in = List.copyOf(logits);
    Scalar out = new Scalar(-StrictMath.log(p[target]), "", "softmax-ce[t=" + target + "]", in);
    out.backwardRule = () -> {
      for (int j = 0; j < n; j++) {
        in.get(j).grad += (p[j] - (j == target ? 1.0 : 0.0)) * out.grad;
      }
    };
    return out;
  }

  /**
   * Backpropagates from this node: zeroes the gradient of every node it depends on, sets its own to
   * 1, then runs each node's rule in reverse topological order, so every rule sees its complete
   * upstream gradient before passing it on.
   */
  public void backward() {
    List<Scalar> order = topologicalOrder();
    for (Scalar n : order) {
      n.grad = 0;
    }
    grad = 1;
    for (int i = order.size() - 1; i >= 0; i--) {
      order.get(i).backwardRule.run();
    }
  }

  /**
   * This node and everything it depends on, inputs before the nodes made from them (children in
   * argument order, depth first), ending with this node. Deterministic for a given graph.
   */
  public List<Scalar> topologicalOrder() {
    List<Scalar> order = new ArrayList<>();
    Map<Scalar, Boolean> seen = new IdentityHashMap<>();
    // Iterative post-order DFS: frame = node + index of the next child to visit.
    Deque<Scalar> nodes = new ArrayDeque<>();
    Deque<Integer> next = new ArrayDeque<>();
    nodes.push(this);
    next.push(0);
    seen.put(this, Boolean.TRUE);
    while (!nodes.isEmpty()) {
      Scalar n = nodes.peek();
      int i = next.pop();
      if (i < n.children.size()) {
        next.push(i + 1);
        Scalar c = n.children.get(i);
        if (seen.put(c, Boolean.TRUE) == null) {
          nodes.push(c);
          next.push(0);
        }
      } else {
        nodes.pop();
        order.add(n);
      }
    }
    return Collections.unmodifiableList(order);
  }

  private static String formatConstant(double k) {
    return k == Math.rint(k) && Math.abs(k) < 1e15 ? Long.toString((long) k) : Double.toString(k);
  }

  @Override
  public String toString() {
    return (label.isEmpty() ? op : label) + "(value=" + value + ", grad=" + grad + ")";
  }
}
