package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.gradcheck.TensorCheck;
import io.gradflow.common.report.Json;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

class GradcheckCommandTest {

  /** Exit code, standard output and standard error of one in-process run. */
  record Run(int exitCode, String out, String err) {}

  static Run run(Object command, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cmd = new CommandLine(command);
    cmd.setOut(new PrintWriter(out));
    cmd.setErr(new PrintWriter(err));
    int code = cmd.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void defaultRunPassesAndShowsEveryTensorAndTheCost() {
    Run r = run(new GradcheckCommand());
    assertEquals(0, r.exitCode(), r.out() + r.err());
    List<String> lines = r.out().lines().toList();
    assertTrue(
        lines.get(0).startsWith("gradcheck 7-6-5-3 sigmoid, batch 4, seed 1: 101 parameters"));
    assertTrue(lines.get(1).startsWith("eps 0.000001, finite differences in double; relative error |a-n| / max(|a|+|n|, 0.003)"),
        lines.get(1));
    for (String tensor : List.of("layer0.W", "layer0.b", "layer1.W", "layer1.b", "layer2.W")) {
      String row = lines.stream().filter(l -> l.startsWith(tensor + " ")).findFirst().orElseThrow();
      String[] cols = row.trim().split("\\s+");
      assertEquals("pass", cols[6], row);
      assertEquals("0.0001", cols[5], row);
      assertTrue(Double.parseDouble(cols[3]) <= 1e-4, row);
    }
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("layer0.W   6x7           42 ")), r.out());
    assertTrue(
        r.out()
            .contains(
                "cost: finite differences 202 forward passes (2 per parameter); "
                    + "backprop 1 forward + 1 backward pass"),
        r.out());
    assertEquals("PASS", lines.get(lines.size() - 1));
  }

  @ParameterizedTest(name = "{0} {1} {2}")
  @CsvSource({
    "7-6-5-3, relu, double",
    "7-6-5-3, tanh, double",
    "7-6-5-4-3, sigmoid, double",
    "7-6-5-4-3, relu, double",
    "7-6-5-4-3, tanh, double",
    "7-6-5-4-3, tanh, float32"
  })
  void jsonReportsAPassForTwoAndThreeHiddenLayers(String model, String activation, String precision) {
    Run r =
        run(
            new GradcheckCommand(),
            "--model", model, "--activation", activation, "--batch", "4", "--seed", "1",
            "--precision", precision, "--json");
    assertEquals(0, r.exitCode(), r.out() + r.err());
    GradcheckCommand.Report json = Json.parse(r.out(), GradcheckCommand.Report.class, "gradcheck --json");
    assertTrue(r.out().contains("\"max_relative_error\": "), r.out());
    assertEquals(model, json.model());
    assertEquals(activation, json.activation());
    assertEquals(precision, json.precision());
    assertTrue(json.passed());
    assertEquals(precision.equals("double") ? 1e-4 : 0.02, json.tolerance());
    int layers = model.split("-").length - 1;
    assertEquals(2 * layers, json.tensors().size());
    long parameters = 0;
    for (TensorCheck t : json.tensors()) {
      assertTrue(t.passed(), t.toString());
      assertTrue(t.maxRelativeError() <= json.tolerance(), t.toString());
      assertEquals(t.elements(), t.checked() + t.skippedKinks());
      parameters += t.elements();
    }
    assertEquals(parameters, json.parameters());
    assertEquals(2 * parameters, json.cost().finiteDifferenceForwardPasses());
    assertEquals(1, json.cost().backpropForwardPasses());
    assertEquals(1, json.cost().backpropBackwardPasses());
  }

  @Test
  void theFloat32CheckIsStillThereWithItsOwnDefaults() {
    Run r = run(new GradcheckCommand(), "--precision", "float32");
    assertEquals(0, r.exitCode(), r.out() + r.err());
    assertTrue(r.out().contains("eps 0.01, finite differences in float32;"), r.out());
    assertTrue(r.out().contains(" 0.02  pass"), r.out());
  }

  @Test
  void exitsWithFiveWhenATensorIsAboveTolerance() {
    Run r = run(new GradcheckCommand(), "--tolerance", "1e-7");
    assertEquals(5, r.exitCode(), r.out() + r.err());
    assertTrue(r.out().contains("FAIL"), r.out());
    String last = r.out().lines().reduce((a, b) -> b).orElse("");
    assertTrue(last.matches("FAIL: [1-6] of 6 tensors above tolerance"), last);

    Run json = run(new GradcheckCommand(), "--tolerance", "1e-7", "--json");
    assertEquals(5, json.exitCode());
    assertFalse(Json.parse(json.out(), GradcheckCommand.Report.class, "gradcheck --json").passed());
  }

  @Test
  void reportsSkippedReluKinks() {
    // A large step makes kinks likely: they are skipped, counted and reported, not failed.
    Run r =
        run(
            new GradcheckCommand(),
            "--model", "7-6-5-4-3", "--activation", "relu", "--seed", "1", "--precision", "float32",
            "--eps", "0.03");
    assertEquals(0, r.exitCode(), r.out() + r.err());
    assertTrue(r.out().contains("kinks skipped)"), r.out());
    assertTrue(r.out().contains("elements skipped where a +-eps step crossed a kink"), r.out());
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({
    "--model, 7-x-3, layer size 'x' is not a whole number",
    "--model, 7, expected layer sizes like 784-256-128-10",
    "--model, 7-6-1, the output layer needs at least 2 classes",
    "--activation, softplus, unknown activation 'softplus'",
    "--batch, 0, --batch must be positive, got 0",
    "--eps, 0, eps must be in (0, 1), got 0.0",
    "--eps, abc, Invalid value for option '--eps'",
    "--tolerance, -1, tolerance must be positive, got -1.0",
    "--precision, half, precision 'half': expected double or float32",
    "--model, 784-256-10, model 784-256-10 has 203530 parameters, over --max-parameters 100000"
  })
  void badOptionValuesAreUsageErrors(String option, String value, String message) {
    Run r = run(new GradcheckCommand(), option, value);
    assertEquals(2, r.exitCode(), r.out() + r.err());
    String firstLine = r.err().lines().findFirst().orElse("");
    assertTrue(firstLine.contains(message), firstLine);
    assertEquals("", r.out());
  }

  @Test
  void helpDescribesTheCommand() {
    Run r = run(new GradcheckCommand(), "--help");
    assertEquals(0, r.exitCode());
    assertTrue(r.out().startsWith("Usage: gradcheck"), r.out());
    assertTrue(r.out().contains("--eps=E"), r.out());
    assertTrue(r.out().contains("--precision=P"), r.out());
    assertTrue(r.out().replaceAll("\\s+", " ").contains("(default: 1e-6 in double, 0.01 in float32)"), r.out());
    assertTrue(r.out().contains("float32 (default: double)"), r.out());
  }
}
