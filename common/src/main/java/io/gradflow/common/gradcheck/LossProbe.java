package io.gradflow.common.gradcheck;

import io.gradflow.common.kernels.DenseKernels;
import io.gradflow.common.model.Activation;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Backprop;
import java.util.Arrays;

/**
 * The loss as one element at a time moves, in one {@link GradCheck.Precision}: what {@link
 * GradCheck}'s central differences evaluate at {@code w + eps} and {@code w - eps}, the mean
 * cross-entropy
 *
 * <pre>
 *   L = -(1/B) sum_i ln p_(i,t_i)
 * </pre>
 *
 * <p>and whether a step crossed a ReLU kink: the sign pattern of every ReLU layer's
 * pre-activations at the perturbed weights differs from the one at {@code w} ({@link #markBase}).
 * {@link DoubleProbe} gets the pattern with each pass; {@link FloatProbe} takes a second forward
 * pass for it (same kernels, same bits), counted by {@link #kinkPassesPerCheck}.
 */
interface LossProbe {
  /**
   * The probe of {@code precision} on {@code work} (its weights are moved in place, and set back
   * by the caller) and the first {@code rows} rows of {@code inputs} with {@code labels}.
   */
  static LossProbe of(GradCheck.Precision precision, Network work, DenseKernels kernels, float[] inputs, int[] labels, int rows) {
    return precision == GradCheck.Precision.DOUBLE
        ? new DoubleProbe(new DoubleForward(work, inputs, labels, rows))
        : new FloatProbe(work, kernels, inputs, labels, rows);
  }

  /** Sets element {@code e} of tensor {@code t} to {@code value} as held; returns the value held. */
  double set(int t, int e, double value);

  /** The mean cross-entropy at the current weights. */
  double loss();

  /** Takes the ReLU pattern of the last {@link #loss} as the unperturbed one. */
  void markBase();

  /** Whether the last {@link #loss} saw another ReLU pattern than the unperturbed one. */
  boolean kinked();

  /** Forward passes {@link #kinked} costs on top of {@link #loss}. */
  int kinkPassesPerCheck();

  /** Finite differences in double; the ReLU pattern comes with each pass. */
  final class DoubleProbe implements LossProbe {
    private final DoubleForward forward;
    private boolean[] base;

    DoubleProbe(DoubleForward forward) {
      this.forward = forward;
    }

    @Override
    public double set(int t, int e, double value) {
      forward.tensor(t)[e] = value;
      return value;
    }

    @Override
    public double loss() {
      return forward.meanLoss();
    }

    @Override
    public void markBase() {
      base = forward.reluPattern().clone();
    }

    @Override
    public boolean kinked() {
      return !Arrays.equals(base, forward.reluPattern());
    }

    @Override
    public int kinkPassesPerCheck() {
      return 0;
    }
  }

  /** Finite differences through Backprop's float32 forward pass; a second pass finds kinks. */
  final class FloatProbe implements LossProbe {
    private final Network work;
    private final Backprop bp;
    private final int[] labels;
    private final int rows;
    private final KinkDetector kinks;
    private boolean[] base;

    FloatProbe(Network work, DenseKernels kernels, float[] inputs, int[] labels, int rows) {
      ModelSpec spec = work.spec();
      this.work = work;
      this.bp = new Backprop(spec, kernels, rows);
      System.arraycopy(inputs, 0, bp.inputBuffer(), 0, rows * spec.inputSize());
      this.labels = labels;
      this.rows = rows;
      this.kinks = KinkDetector.hasRelu(spec) ? new KinkDetector(spec, kernels, inputs, rows) : null;
    }

    @Override
    public double set(int t, int e, double value) {
      float[] w = work.tensor(t);
      w[e] = (float) value;
      return w[e];
    }

    @Override
    public double loss() {
      return meanLoss(bp, work, labels, rows);
    }

    @Override
    public void markBase() {
      base = kinks == null ? null : kinks.pattern(work).clone();
    }

    @Override
    public boolean kinked() {
      return kinks != null && !Arrays.equals(base, kinks.pattern(work));
    }

    @Override
    public int kinkPassesPerCheck() {
      return kinks == null ? 0 : 1;
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
  }

  /**
   * Records which ReLU pre-activations are positive, by the same forward pass as Backprop (same
   * kernels, same activations), so that a change of pattern flags a kink within the step.
   */
  final class KinkDetector {
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
