package io.gradflow.cli;

import io.gradflow.common.data.DatasetLoader;
import io.gradflow.common.data.TrainTestSplit;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/** Loads the {@code --dataset} of a command; an unknown form is a usage error. */
final class Datasets {
  private Datasets() {}

  static TrainTestSplit load(String dataset, Path dataDir, CommandSpec spec) {
    try {
      return DatasetLoader.fromSystem(dataDir).load(dataset);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
  }

  static TrainTestSplit load(JobOptions job, CommandSpec spec) {
    return load(job.dataset, job.dataDir, spec);
  }
}
