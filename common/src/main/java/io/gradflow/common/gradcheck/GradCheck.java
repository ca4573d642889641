package io.gradflow.common.gradcheck;

import io.gradflow.common.kernels.DenseKernels;
import io.gradflow.common.model.Activation;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Backprop;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.util.SplitMix64;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Checks backprop against central finite differences for every element of every weight and bias
 * tensor:
 *
 * <pre>
 *   n = (L(w + eps) - L(w - eps)) / ((w + eps) - (w - eps))
 *   a = dL/dw from the {@link GradientSource} (by default {@link Backprop#forwardBackward})
 *   relative error = |a - n| / max(|a| + |n|, floor)
 * </pre>
 *
 * <p>{@code L} is the mean cross-entropy {@code -(1/B) sum_i ln p_(i,t_i)}: the probabilities come
 * from {@link Backprop#forward} in float32 (the real code path); the log and the mean are taken in
 * double. The perturbed weights are float32, so the step is divided by the difference of the two
 * rounded weights rather than by {@code 2 eps}.
 *
 * <p>Choice of eps and tolerance for float32 ({@link #DEFAULT_EPS}, {@link #DEFAULT_TOLERANCE},
 * {@link #GRADIENT_FLOOR}): a float32 forward pass carries a rounding noise of about {@code 1e-7}
 * in {@code L}, which the difference divides by {@code 2 eps}; the truncation error of the central
 * difference grows as {@code eps^2 L'''/6}. {@code eps = 1e-2} keeps both near {@code 1e-5} in
 * absolute terms for small nets ({@code 1e-3} is noise-bound, {@code 3e-2} truncation-bound). A
 * tensor passes when its largest relative error is at most {@code 2e-2}; the denominator has a
 * floor of {@code 3e-3}, so gradients near zero, where only the absolute error means something,
 * must agree within {@code 6e-5}. Observed over 2,400 seeded checks (3-4-3, 7-6-5-3, 7-6-5-4-3,
 * 10-8-8-8-4; sigmoid, relu, tanh; seeds 1..200, batch 1..8): largest relative error
 * {@code 8.5e-3}, typically {@code 1e-3}. A wrong gradient (a missing factor, a wrong sign, one
 * element 10% off) gives {@code 5e-2} or more.
 *
 * <p>ReLU kinks: where a {@code +-eps} step moves some ReLU pre-activation across 0, the loss is
 * not differentiable within the step and the central difference means nothing. The check runs a
 * second forward pass per perturbation that records the sign pattern of every ReLU layer's
 * pre-activations (same kernels, same bits); an element whose pattern at {@code w + eps} or {@code
 * w - eps} differs from the pattern at {@code w} is skipped and counted ({@link
 * TensorCheck#skippedKinks()}). Those extra passes are reported apart from the finite differences'
 * own cost.
 *
 * <p>Cost: finite differences take 2 forward passes per parameter; backprop takes 1 forward and 1
 * backward pass in all.
 */
public final class GradCheck {
  /** Finite-difference step for float32 weights. */
  public static final double DEFAULT_EPS = 1e-2;
  /** Largest relative error a tensor may have and pass. */
  public static final double DEFAULT_TOLERANCE = 2e-2;
  /** Floor of the relative error's denominator {@code max(|a| + |n|, floor)}. */
  public static final double GRADIENT_FLOOR = 3e-3;

  /** The gradients under test: the seam through which tests inject a wrong gradient. */
  @FunctionalInterface
  public interface GradientSource {
    /**
     * Overwrites {@code out} with {@code dL/dW}, {@code dL/db} of the mean cross-entropy of {@code
     * net} on the first {@code rows} rows of {@code inputs} ({@code rows x inputSize}) with {@code
     * labels}.
     */
    void gradients(Network net, float[] inputs, int[] labels, int rows, Gradients out);
  }

  /** Backprop's gradients: {@code forwardBackward} with loss denominator {@code rows}. */
  public static GradientSource backprop(DenseKernels kernels) {
    return (net, inputs, labels, rows, out) -> {
      Backprop bp = new Backprop(net.spec(), kernels, rows);
      System.arraycopy(inputs, 0, bp.inputBuffer(), 0, rows * net.spec().inputSize());
      bp.forwardBackward(net, labels, rows, rows, out);
    };
  }

  private final DenseKernels kernels;
  private final double eps;
  private final double tolerance;
  private final GradientSource source;

  /** Checks Backprop with {@code kernels}, {@link #DEFAULT_EPS} and {@link #DEFAULT_TOLERANCE}. */
  public GradCheck(DenseKernels kernels) {
    this(kernels, DEFAULT_EPS, DEFAULT_TOLERANCE);
  }

  public GradCheck(DenseKernels kernels, double eps, double tolerance) {
    this(kernels, eps, tolerance, backprop(kernels));
  }

  private GradCheck(DenseKernels kernels, double eps, double tolerance, GradientSource source) {
    if (!(eps > 0 && eps < 1)) {
      throw new IllegalArgumentException("eps must be in (0, 1), got " + eps);
    }
    if (!(tolerance > 0)) {
      throw new IllegalArgumentException("tolerance must be positive, got " + tolerance);
    }
    this.kernels = kernels;
    this.eps = eps;
    this.tolerance = tolerance;
    this.source = source;
  }

  /** The same check of other gradients (finite differences still go through Backprop). */
  public GradCheck withGradientSource(GradientSource other) {
    return new GradCheck(kernels, eps, tolerance, other);
  }

  public double eps() {
    return eps;
  }

  public double tolerance() {
    return tolerance;
  }

  /**
   * Checks the freshly initialised network of {@code spec} on {@link #randomInputs} and {@link
   * #randomLabels} of {@code batch} rows drawn from {@code dataSeed}.
   */
  public GradCheckResult check(ModelSpec spec, int batch, long dataSeed) {
    return check(
        Network.initialize(spec),
        randomInputs(spec, batch, dataSeed),
        randomLabels(spec, batch, dataSeed),
        batch);
  }

  /**
   * Checks the gradients of {@code net} (left unchanged) on the first {@code rows} rows of {@code
   * inputs} with {@code labels}.
   */
  public GradCheckResult check(Network net, float[] inputs, int[] labels, int rows) {
    ModelSpec spec = net.spec();
    if (rows <= 0 || inputs.length < rows * spec.inputSize() || labels.length < rows) {
      throw new IllegalArgumentException(
          "need " + rows + " rows of " + spec.inputSize() + " inputs and " + rows + " labels");
    }
    Network work = net.copy();
    Gradients analytic = new Gradients(spec);
    source.gradients(work.copy(), inputs, labels, rows, analytic);

    Backprop bp = new Backprop(spec, kernels, rows);
    System.arraycopy(inputs, 0, bp.inputBuffer(), 0, rows * spec.inputSize());
    KinkDetector kinks =
        KinkDetector.hasRelu(spec) ? new KinkDetector(spec, kernels, inputs, rows) : null;
    boolean[] basePattern = kinks == null ? null : kinks.pattern(work).clone();
    double loss = meanLoss(bp, work, labels, rows);

    List<TensorCheck> tensors = new ArrayList<>();
    long forwardPasses = 0;
    long kinkPasses = 0;
    for (int t = 0; t < work.tensorCount(); t++) {
      float[] w = work.tensor(t);
      float[] a = analytic.tensor(t);
      double maxRel = 0;
      double maxAbs = 0;
      int worst = -1;
      double worstA = 0;
      double worstN = 0;
      int skipped = 0;
      for (int e = 0; e < w.length; e++) {
        float original = w[e];
        float plus = (float) (original + eps);
        float minus = (float) (original - eps);
        w[e] = plus;
        double lossPlus = meanLoss(bp, work, labels, rows);
        boolean kinked = kinks != null && !Arrays.equals(basePattern, kinks.pattern(work));
        w[e] = minus;
        double lossMinus = meanLoss(bp, work, labels, rows);
        kinked |= kinks != null && !Arrays.equals(basePattern, kinks.pattern(work));
        w[e] = original;
        forwardPasses += 2;
        kinkPasses += kinks == null ? 0 : 2;
        if (kinked) {
          skipped++;
          continue;
        }
        double numeric = (lossPlus - lossMinus) / ((double) plus - (double) minus);
        double abs = Math.abs(a[e] - numeric);
        double rel = abs / Math.max(Math.abs(a[e]) + Math.abs(numeric), GRADIENT_FLOOR);
        maxAbs = Math.max(maxAbs, abs);
        if (worst < 0 || rel > maxRel) {
          maxRel = rel;
          worst = e;
          worstA = a[e];
          worstN = numeric;
        }
      }
      tensors.add(
          new TensorCheck(
              Network.tensorName(t),
              work.tensorShape(t),
              w.length,
              w.length - skipped,
              skipped,
              maxRel,
              maxAbs,
              worst,
              worstA,
              worstN,
              maxRel <= tolerance));
    }
    return new GradCheckResult(
        eps, tolerance, GRADIENT_FLOOR, loss, tensors, forwardPasses, kinkPasses);
  }

  /** {@code -(1/B) sum_i ln p_(i,t_i)} in double, from Backprop's float32 probabilities. */
  private static double meanLoss(Backprop bp, Network net, int[] labels, int rows) {
    float[] p = bp.forward(net, rows);
    int classes = net.spec().outputSize();
    double sum = 0;
    for (int i = 0; i < rows; i++) {
      sum -= StrictMath.log(Math.max(p[i * classes + labels[i]], Float.MIN_NORMAL));
    }
    return sum / rows;
  }

  /**
   * {@code batch x inputSize} inputs uniform in {@code [-1, 1)}, drawn from {@code
   * SplitMix64.forStream(seed, 1)} (stream 1, so that they are not the draws of weights seeded
   * with the same number).
   */
  public static float[] randomInputs(ModelSpec spec, int batch, long seed) {
    SplitMix64 rng = SplitMix64.forStream(seed, 1);
    float[] x = new float[batch * spec.inputSize()];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (2 * rng.nextDouble() - 1);
    }
    return x;
  }

  /** {@code batch} labels uniform in {@code [0, classes)}, from {@code forStream(seed, 2)}. */
  public static int[] randomLabels(ModelSpec spec, int batch, long seed) {
    SplitMix64 rng = SplitMix64.forStream(seed, 2);
    int[] labels = new int[batch];
    for (int i = 0; i < batch; i++) {
      labels[i] = rng.nextInt(spec.outputSize());
    }
    return labels;
  }

  /**
   * Records which ReLU pre-activations are positive, by the same forward pass as Backprop (same
   * kernels, same activations), so that a change of pattern flags a kink within the step.
   */
  private static final class KinkDetector {
    private final ModelSpec spec;
    private final DenseKernels kernels;
    private final int rows;
    private final float[][] acts;
    private final boolean[] pattern;

    KinkDetector(ModelSpec spec, DenseKernels kernels, float[] inputs, int rows) {
      this.spec = spec;
      this.kernels = kernels;
      this.rows = rows;
      int hidden = spec.layerCount() - 1;
      acts = new float[hidden + 1][];
      acts[0] = Arrays.copyOf(inputs, rows * spec.inputSize());
      int units = 0;
      for (int l = 0; l < hidden; l++) {
        acts[l + 1] = new float[rows * spec.fanOut(l)];
        units += spec.activation(l) == Activation.RELU ? rows * spec.fanOut(l) : 0;
      }
      pattern = new boolean[units];
    }

    static boolean hasRelu(ModelSpec spec) {
      return spec.activations().contains(Activation.RELU);
    }

    /** {@code z > 0} for every ReLU pre-activation of the hidden layers; a live buffer. */
    boolean[] pattern(Network net) {
      int k = 0;
      for (int l = 0; l < acts.length - 1; l++) {
        int out = spec.fanOut(l);
        float[] z = acts[l + 1];
        kernels.forward(acts[l], net.weights(l), net.biases(l), z, rows, spec.fanIn(l), out);
        Activation f = spec.activation(l);
        if (f == Activation.RELU) {
          for (int i = 0; i < rows * out; i++) {
            pattern[k++] = z[i] > 0f;
          }
        }
        f.applyInPlace(z, 0, rows * out);
      }
      return pattern;
    }
  }
}
