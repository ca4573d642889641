package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
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
    assertTrue(lines.get(1).startsWith("eps 0.01; relative error |a-n| / max(|a|+|n|, 0.003)"));
    for (String tensor : List.of("layer0.W", "layer0.b", "layer1.W", "layer1.b", "layer2.W")) {
      String row = lines.stream().filter(l -> l.startsWith(tensor + " ")).findFirst().orElseThrow();
      String[] cols = row.trim().split("\\s+");
      assertEquals("pass", cols[6], row);
      assertEquals("0.02", cols[5], row);
      assertTrue(Double.parseDouble(cols[3]) <= 0.02, row);
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

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({
    "7-6-5-3, relu",
    "7-6-5-3, tanh",
    "7-6-5-4-3, sigmoid",
    "7-6-5-4-3, relu",
    "7-6-5-4-3, tanh"
  })
  void jsonReportsAPassForTwoAndThreeHiddenLayers(String model, String activation) {
    Run r =
        run(
            new GradcheckCommand(),
            "--model", model, "--activation", activation, "--batch", "4", "--seed", "1", "--json");
    assertEquals(0, r.exitCode(), r.out() + r.err());
    Map<?, ?> json = (Map<?, ?>) MiniJson.parse(r.out());
    assertEquals(model, json.get("model"));
    assertEquals(activation, json.get("activation"));
    assertEquals(Boolean.TRUE, json.get("passed"));
    assertEquals(0.02, (Double) json.get("tolerance"));
    List<?> tensors = (List<?>) json.get("tensors");
    int layers = model.split("-").length - 1;
    assertEquals(2 * layers, tensors.size());
    double parameters = 0;
    for (Object o : tensors) {
      Map<?, ?> t = (Map<?, ?>) o;
      assertEquals(Boolean.TRUE, t.get("passed"), t.toString());
      assertTrue((Double) t.get("maxRelativeError") <= 0.02, t.toString());
      assertEquals(
          (Double) t.get("elements"), (Double) t.get("checked") + (Double) t.get("skippedKinks"));
      parameters += (Double) t.get("elements");
    }
    assertEquals(parameters, (Double) json.get("parameters"));
    Map<?, ?> cost = (Map<?, ?>) json.get("cost");
    assertEquals(2 * parameters, (Double) cost.get("finiteDifferenceForwardPasses"));
    assertEquals(1.0, (Double) cost.get("backpropForwardPasses"));
    assertEquals(1.0, (Double) cost.get("backpropBackwardPasses"));
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
    assertEquals(Boolean.FALSE, ((Map<?, ?>) MiniJson.parse(json.out())).get("passed"));
  }

  @Test
  void reportsSkippedReluKinks() {
    // A large step makes kinks likely: they are skipped, counted and reported, not failed.
    Run r =
        run(
            new GradcheckCommand(),
            "--model", "7-6-5-4-3", "--activation", "relu", "--seed", "1", "--eps", "0.03");
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
    assertTrue(r.out().contains("(default: 0.01)"), r.out());
  }
}
