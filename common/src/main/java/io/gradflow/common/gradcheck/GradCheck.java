package io.gradflow.common.gradcheck;

import io.gradflow.common.kernels.DenseKernels;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Backprop;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.util.SplitMix64;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks backprop against central finite differences for every element of every weight and bias
 * tensor:
 *
 * <pre>
 *   n = (L(w + eps) - L(w - eps)) / ((w + eps) - (w - eps))
 *   a = dL/dw from the {@link GradientSource} (by default {@link Backprop#forwardBackward}, float32)
 *   relative error = |a - n| / max(|a| + |n|, floor)
 * </pre>
 *
 * <p>{@code L} is the mean cross-entropy {@code -(1/B) sum_i ln p_(i,t_i)}. The step is divided by
 * the difference of the two perturbed weights as the forward pass holds them, not by {@code 2 eps}.
 *
 * <p>{@link Precision#DOUBLE}, the default: {@code L} comes from a forward pass in double ({@link
 * DoubleForward}) on the same float32 weights and inputs, perturbed in double. Its rounding noise,
 * {@code ~1e-16 / eps}, and the truncation error {@code eps^2 L'''/6} both stay below {@code 1e-9}
 * at {@code eps = 1e-6}, so {@code n} is the true derivative to far better than float32 and the
 * comparison measures backprop's own float32 error. Tolerance {@code 1e-4}.
 *
 * <p>{@link Precision#FLOAT32}: {@code L} from {@link Backprop#forward} in float32 (the real code
 * path; the log and the mean in double), weights perturbed as floats. A float32 forward pass
 * carries a rounding noise of about {@code 1e-7} in {@code L}, which the difference divides by
 * {@code 2 eps}; the truncation error grows as {@code eps^2}. {@code eps = 1e-2} keeps both near
 * {@code 1e-5} for small nets; tolerance {@code 2e-2}.
 *
 * <p>Largest relative errors observed over 2,400 seeded checks per precision (3-4-3, 7-6-5-3,
 * 7-6-5-4-3, 10-8-8-8-4; seeds 1..200, batch 1..8), with the default step:
 *
 * <table>
 *   <caption>Largest relative error, backprop against finite differences</caption>
 *   <tr><th></th><th>sigmoid</th><th>tanh</th><th>relu (away from kinks)</th></tr>
 *   <tr><td>double (tolerance 1e-4)</td><td>7.2e-6</td><td>1.7e-5</td><td>2.0e-5</td></tr>
 *   <tr><td>float32 (tolerance 2e-2)</td><td>3.9e-3</td><td>6.5e-3</td><td>8.5e-3</td></tr>
 * </table>
 *
 * <p>A wrong gradient shows far above that: one element 0.1% off gives {@code 5e-4} in double
 * (float32 cannot tell), 10% off {@code 5e-2}, a wrong sign {@code 1}. In both precisions the
 * denominator has a floor of {@link #GRADIENT_FLOOR}, so gradients near zero, where only the
 * absolute error means something, must agree within {@code tolerance * floor}.
 *
 * <p>ReLU kinks: where a {@code +-eps} step moves some ReLU pre-activation across 0, the loss is
 * not differentiable within the step and the central difference means nothing. The sign pattern
 * of every ReLU layer's pre-activations is recorded at {@code w} and at {@code w +- eps}; an
 * element whose pattern changes is skipped and counted ({@link TensorCheck#skippedKinks()}). The
 * double forward pass records the pattern as it goes; in float32, a second forward pass per
 * perturbation does (same kernels, same bits), reported apart from the finite differences' cost.
 *
 * <p>Cost: finite differences take 2 forward passes per parameter; backprop takes 1 forward and 1
 * backward pass in all.
 */
public final class GradCheck {
  /** The arithmetic of the finite differences' forward pass, with its default step and tolerance. */
  public enum Precision {
    /** A forward pass in double on the float32 weights: checks backprop to 1e-4. */
    DOUBLE("double", 1e-6, 1e-4),
    /** Backprop's own float32 forward pass: the real code path, checked to 2e-2. */
    FLOAT32("float32", 1e-2, 2e-2);

    private final String id;
    private final double eps;
    private final double tolerance;

    Precision(String id, double eps, double tolerance) {
      this.id = id;
      this.eps = eps;
      this.tolerance = tolerance;
    }

    /** {@code double} or {@code float32}, as on the command line. */
    public String id() {
      return id;
    }

    /** The finite-difference step of this precision by default. */
    public double defaultEps() {
      return eps;
    }

    /** The largest relative error that passes by default. */
    public double defaultTolerance() {
      return tolerance;
    }

    /**
     * Parses {@code double} or {@code float32} (any case).
     *
     * @throws IllegalArgumentException for anything else
     */
    public static Precision parse(String s) {
      for (Precision p : values()) {
        if (p.id.equalsIgnoreCase(s.strip())) {
          return p;
        }
      }
      throw new IllegalArgumentException("precision '" + s + "': expected double or float32");
    }
  }

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
  private final Precision precision;
  private final double eps;
  private final double tolerance;
  private final GradientSource source;

  /** Checks Backprop with {@code kernels} in {@link Precision#DOUBLE}, with its defaults. */
  public GradCheck(DenseKernels kernels) {
    this(kernels, Precision.DOUBLE);
  }

  /** Checks Backprop with {@code kernels} in {@code precision}, with its defaults. */
  public GradCheck(DenseKernels kernels, Precision precision) {
    this(kernels, precision, precision.defaultEps(), precision.defaultTolerance());
  }

  public GradCheck(DenseKernels kernels, Precision precision, double eps, double tolerance) {
    this(kernels, precision, eps, tolerance, backprop(kernels));
  }

  private GradCheck(DenseKernels kernels, Precision precision, double eps, double tolerance, GradientSource source) {
    if (!(eps > 0 && eps < 1)) {
      throw new IllegalArgumentException("eps must be in (0, 1), got " + eps);
    }
    if (!(tolerance > 0)) {
      throw new IllegalArgumentException("tolerance must be positive, got " + tolerance);
    }
    this.kernels = kernels;
    this.precision = precision;
    this.eps = eps;
    this.tolerance = tolerance;
    this.source = source;
  }

  /** The same check of other gradients (finite differences still go through Backprop). */
  public GradCheck withGradientSource(GradientSource other) {
    return new GradCheck(kernels, precision, eps, tolerance, other);
  }

  public Precision precision() {
    return precision;
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
    LossProbe probe = LossProbe.of(precision, work, kernels, inputs, labels, rows);
    double loss = probe.loss();
    probe.markBase();

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
        double plus = probe.set(t, e, original + eps);
        double lossPlus = probe.loss();
        boolean kinked = probe.kinked();
        double minus = probe.set(t, e, original - eps);
        double lossMinus = probe.loss();
        kinked |= probe.kinked();
        probe.set(t, e, original);
        forwardPasses += 2;
        kinkPasses += 2L * probe.kinkPassesPerCheck();
        if (kinked) {
          skipped++;
          continue;
        }
        double numeric = (lossPlus - lossMinus) / (plus - minus);
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
        precision, eps, tolerance, GRADIENT_FLOOR, loss, tensors, forwardPasses, kinkPasses);
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
}
