package io.gradflow.cli;

import io.gradflow.common.gradcheck.GradCheck;
import io.gradflow.common.graph.GraphFormat;
import io.gradflow.common.graph.HtmlRenderer;
import io.gradflow.common.graph.NetworkGraph;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gradflow explain}: unrolls a small net's forward pass and loss on one random input row
 * into a scalar graph, runs backprop through it, and writes every node with its forward value and
 * gradient as text, Graphviz DOT, SVG or an HTML page. Exit 0, or 2 for a bad option value.
 */
@Command(
    name = "explain",
    mixinStandardHelpOptions = true,
    description = {
      "Shows how gradients flow: a small net's forward pass and cross-entropy on one random "
          + "input row, as a graph of scalars with each node's forward value and backward "
          + "gradient d loss / d node.",
      "Rules: add broadcasts the gradient, scale by k multiplies it by k, multiply swaps the "
          + "inputs, max/relu switches it to the larger input, sigmoid z(1-z), tanh 1-z^2, "
          + "softmax cross-entropy p - t."
    })
public final class ExplainCommand implements Callable<Integer> {
  /** The graph has a node per scalar operation: explain is for nets small enough to read. */
  static final long MAX_PARAMETERS = 500;

  @Spec CommandSpec spec;

  @Mixin ModelOptions model = new ModelOptions("2-2-2", "sigmoid");

  @Option(
      names = "--seed",
      paramLabel = "N",
      description = "Seed of the weights, the input row and its label (default: ${DEFAULT-VALUE}).")
  long seed = 1;

  @Option(
      names = "--format",
      paramLabel = "FORMAT",
      description = "text, dot (Graphviz), svg, or html (the SVG in a page with the net, input and loss above it) (default: ${DEFAULT-VALUE}).")
  String format = "text";

  @Option(
      names = {"-o", "--output"},
      paramLabel = "FILE",
      description = "Write the graph to FILE instead of standard output.")
  String output;

  @Override
  public Integer call() {
    Path outputFile = null;
    if (output != null) {
      try {
        outputFile = OutputPaths.file("--output", Path.of(output));
      } catch (InvalidPathException e) {
        throw CommandFailure.usage("--output " + output + ": not a valid path: " + e.getMessage());
      }
    }
    ModelSpec modelSpec = model.spec(seed);
    GraphFormat graphFormat;
    try {
      graphFormat = GraphFormat.parse(format);
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage(e.getMessage());
    }
    if (modelSpec.parameterCount() > MAX_PARAMETERS) {
      throw CommandFailure.usage(
          "model "
              + modelSpec.sizesText()
              + " has "
              + modelSpec.parameterCount()
              + " parameters: explain draws every scalar and takes at most "
              + MAX_PARAMETERS
              + " (try 2-2-2 or 2-3-2)");
    }
    Network net = Network.initialize(modelSpec);
    float[] x = GradCheck.randomInputs(modelSpec, 1, seed);
    int[] label = GradCheck.randomLabels(modelSpec, 1, seed);
    NetworkGraph graph = NetworkGraph.build(net, x, 1, label);
    graph.backward();

    String rendered = graphFormat.render(graph.loss());
    if (graphFormat == GraphFormat.TEXT) {
      rendered = header(modelSpec, x, label[0], graph) + rendered;
    } else if (graphFormat == GraphFormat.HTML) {
      rendered = HtmlRenderer.render(graph.loss(), header(modelSpec, x, label[0], graph).replace("# ", ""));
    }
    PrintWriter out = spec.commandLine().getOut();
    if (output == null) {
      out.print(rendered);
    } else {
      write(outputFile, rendered);
      out.printf(
          Locale.ROOT,
          "wrote %s: %d nodes, %s, loss %.6f%n",
          output,
          graph.nodes().size(),
          graphFormat.id(),
          graph.loss().value());
    }
    out.flush();
    return 0;
  }

  private static void write(Path file, String text) {
    try {
      Files.writeString(file, text, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw OutputPaths.cannotWrite("--output", file, e);
    }
  }

  private static String header(ModelSpec m, float[] x, int label, NetworkGraph graph) {
    StringBuilder input = new StringBuilder();
    for (float v : x) {
      input.append(input.length() > 0 ? ", " : "").append(String.format(Locale.ROOT, "%.4f", v));
    }
    return String.format(
        Locale.ROOT,
        "# %s %s, seed %d: x = (%s), label %d, loss %.6f%n"
            + "# value = forward pass, grad = d loss / d node (backward pass); "
            + "inputs = ids of the op's inputs%n",
        m.sizesText(),
        m.activationText(),
        m.seed(),
        input,
        label,
        graph.loss().value());
  }
}
