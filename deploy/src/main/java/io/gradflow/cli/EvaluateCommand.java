package io.gradflow.cli;

import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.model.ModelFiles;
import io.gradflow.common.model.Network;
import io.gradflow.common.train.Evaluator;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gradflow evaluate}: accuracy and loss of a saved model on a data set's test split. */
@Command(
    name = "evaluate",
    mixinStandardHelpOptions = true,
    description = "Print the accuracy and loss of a model file on a data set's test split.")
final class EvaluateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model-file", required = true, paramLabel = "FILE", description = "A model.gfm written by train.")
  Path modelFile;

  @Mixin DataOptions data;

  @Option(names = "--json", description = "Print one JSON object.")
  boolean json;

  @Override
  public Integer call() {
    Network net = ModelFiles.load(modelFile).network();
    TrainTestSplit split = data.load();
    ModelDataMatch.checkFile(modelFile.toString(), net.spec(), split.test());
    Evaluator.Result r = new Evaluator(net, Kernels.byName(Kernels.DEFAULT)).evaluate(net, split.test());
    if (json) {
      spec.commandLine().getOut().println(
          new io.gradflow.common.report.Json()
              .put("model_file", modelFile.toString())
              .put("dataset", data.dataset)
              .put("examples", r.count())
              .put("accuracy", r.accuracy())
              .put("loss", r.loss()));
    } else {
      spec.commandLine().getOut().printf(
          Locale.ROOT,
          "%s on %s test split (%d examples): accuracy %.4f, loss %.4f%n",
          modelFile,
          data.dataset,
          r.count(),
          r.accuracy(),
          r.loss());
    }
    return ExitCode.OK.code();
  }
}
