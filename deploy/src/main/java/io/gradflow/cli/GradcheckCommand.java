package io.gradflow.cli;

import io.gradflow.common.gradcheck.GradCheck;
import io.gradflow.common.gradcheck.GradCheckResult;
import io.gradflow.common.gradcheck.TensorCheck;
import io.gradflow.common.kernels.EjmlKernels;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.report.Json;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code gradflow gradcheck}: checks backprop against central finite differences on a freshly
 * initialised net and a random batch, for every weight and bias, and shows what each method costs.
 * Exit 0 when every tensor is within tolerance, 5 when one is not, 2 for a bad option value.
 */
@Command(
    name = "gradcheck",
    mixinStandardHelpOptions = true,
    description = {
      "Compares backprop's gradients with central finite differences "
          + "(L(w+eps) - L(w-eps)) / 2eps for every weight and bias of a freshly initialised net "
          + "on a random batch. The finite differences run a forward pass in double (tolerance "
          + "1e-4), or with --precision float32 backprop's own float32 forward pass (tolerance 2e-2).",
      "Prints per tensor the largest relative error |a-n| / max(|a|+|n|, floor) and the cost: "
          + "2 forward passes per parameter for finite differences, 1 forward + 1 backward pass "
          + "for backprop. Exit code 5 if any tensor exceeds the tolerance."
    })
public final class GradcheckCommand implements Callable<Integer> {
  static final int OK = 0;
  static final int GRADCHECK_FAILED = 5;

  @Spec CommandSpec spec;

  @Option(
      names = "--model",
      paramLabel = "SIZES",
      description = "Layer sizes, inputs first (default: ${DEFAULT-VALUE}).")
  String model = "7-6-5-3";

  @Option(
      names = "--activation",
      paramLabel = "NAME",
      description =
          "Hidden activation: sigmoid, relu, tanh or identity, or one per hidden layer "
              + "(relu,tanh) (default: ${DEFAULT-VALUE}).")
  String activation = "sigmoid";

  @Option(names = "--batch", paramLabel = "B", description = "Rows (default: ${DEFAULT-VALUE}).")
  int batch = 4;

  @Option(
      names = "--seed",
      paramLabel = "N",
      description = "Seed of the weights and of the random batch (default: ${DEFAULT-VALUE}).")
  long seed = 1;

  @Option(
      names = "--precision",
      paramLabel = "P",
      description =
          "Forward pass of the finite differences: double or float32 (default: ${DEFAULT-VALUE}).")
  String precision = GradCheck.Precision.DOUBLE.id();

  @Option(
      names = "--eps",
      paramLabel = "E",
      description = "Finite-difference step, in (0, 1) (default: 1e-6 in double, 0.01 in float32).")
  Double eps;

  @Option(
      names = "--tolerance",
      paramLabel = "T",
      description = "Largest relative error that passes (default: 1e-4 in double, 0.02 in float32).")
  Double tolerance;

  @Option(
      names = "--max-parameters",
      paramLabel = "N",
      description =
          "Refuse bigger models: finite differences cost 2 forward passes per parameter "
              + "(default: ${DEFAULT-VALUE}).")
  long maxParameters = 100_000;

  @Option(names = "--json", description = "Print the result as JSON.")
  boolean json;

  @Override
  public Integer call() {
    ModelSpec modelSpec = parseModel(spec, model, activation, seed);
    if (batch <= 0) {
      throw new ParameterException(
          spec.commandLine(), "--batch must be positive, got " + batch);
    }
    if (modelSpec.parameterCount() > maxParameters) {
      throw new ParameterException(
          spec.commandLine(),
          String.format(
              Locale.ROOT,
              "model %s has %d parameters, over --max-parameters %d: finite differences would "
                  + "take %d forward passes",
              modelSpec.sizesText(),
              modelSpec.parameterCount(),
              maxParameters,
              2 * modelSpec.parameterCount()));
    }
    GradCheck check;
    try {
      GradCheck.Precision p = GradCheck.Precision.parse(precision);
      check = new GradCheck(new EjmlKernels(), p, eps != null ? eps : p.defaultEps(),
          tolerance != null ? tolerance : p.defaultTolerance());
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    GradCheckResult result = check.check(modelSpec, batch, seed);
    PrintWriter out = spec.commandLine().getOut();
    out.print(json ? toJson(modelSpec, result) : toText(modelSpec, result));
    out.flush();
    return result.passed() ? OK : GRADCHECK_FAILED;
  }

  /** Parses {@code --model} and {@code --activation}; a bad value is a usage error. */
  static ModelSpec parseModel(CommandSpec spec, String model, String activation, long seed) {
    try {
      return ModelSpec.parse(model, activation, null, seed);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
  }

  private String toText(ModelSpec m, GradCheckResult r) {
    StringBuilder sb = new StringBuilder();
    sb.append(
        String.format(
            Locale.ROOT,
            "gradcheck %s %s, batch %d, seed %d: %d parameters, loss %.6f%n",
            m.sizesText(),
            m.activationText(),
            batch,
            seed,
            r.parameterCount(),
            r.loss()));
    sb.append(
        String.format(
            Locale.ROOT,
            "eps %s, finite differences in %s; relative error |a-n| / max(|a|+|n|, %s), "
                + "a = backprop, n = finite difference%n%n",
            number(r.eps()),
            r.precision().id(),
            number(r.gradientFloor())));
    String row = "%-10s %-7s %8s %12s %12s %10s  %s%n";
    sb.append(
        String.format(
            Locale.ROOT, row, "tensor", "shape", "elements", "max rel err", "max abs err",
            "tolerance", "result"));
    for (TensorCheck t : r.tensors()) {
      sb.append(
          String.format(
              Locale.ROOT,
              row,
              t.name(),
              t.shapeText(),
              t.elements(),
              String.format(Locale.ROOT, "%.2e", t.maxRelativeError()),
              String.format(Locale.ROOT, "%.2e", t.maxAbsoluteError()),
              number(r.tolerance()),
              (t.passed() ? "pass" : "FAIL")
                  + (t.skippedKinks() > 0 ? " (" + t.skippedKinks() + " kinks skipped)" : "")));
    }
    sb.append(
        String.format(
            Locale.ROOT,
            "%ncost: finite differences %d forward passes (2 per parameter); "
                + "backprop %d forward + %d backward pass%n",
            r.finiteDifferenceForwardPasses(),
            r.backpropForwardPasses(),
            r.backpropBackwardPasses()));
    if (r.kinkCheckForwardPasses() > 0) {
      sb.append(
          String.format(
              Locale.ROOT,
              "relu: %d elements skipped where a +-eps step crossed a kink "
                  + "(found with %d extra forward passes)%n",
              r.skippedKinks(),
              r.kinkCheckForwardPasses()));
    }
    long failed = r.tensors().stream().filter(t -> !t.passed()).count();
    sb.append(
        r.passed()
            ? "PASS\n"
            : "FAIL: " + failed + " of " + r.tensors().size() + " tensors above tolerance\n");
    return sb.toString();
  }

  /** What {@code --json} prints: the settings, one entry per tensor, and the cost. */
  record Report(
      String model,
      String activation,
      int batch,
      long seed,
      String precision,
      double eps,
      double tolerance,
      double gradientFloor,
      double loss,
      long parameters,
      boolean passed,
      List<TensorCheck> tensors,
      Cost cost) {}

  /** Forward and backward passes each method took. */
  record Cost(
      long finiteDifferenceForwardPasses,
      int backpropForwardPasses,
      int backpropBackwardPasses,
      long kinkCheckForwardPasses) {}

  private String toJson(ModelSpec m, GradCheckResult r) {
    return Json.pretty(new Report(m.sizesText(), m.activationText(), batch, seed, r.precision().id(), r.eps(),
        r.tolerance(), r.gradientFloor(), r.loss(), r.parameterCount(), r.passed(), r.tensors(),
        new Cost(r.finiteDifferenceForwardPasses(), r.backpropForwardPasses(), r.backpropBackwardPasses(),
            r.kinkCheckForwardPasses())));
  }

  private static String number(double v) {
    return BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
  }
}
