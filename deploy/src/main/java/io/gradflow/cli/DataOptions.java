package io.gradflow.cli;

import io.gradflow.common.data.DatasetLoader;
import io.gradflow.common.data.TrainTestSplit;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Which data set and where to find it: {@code --dataset}, {@code --data-dir}. */
final class DataOptions {
  @Option(
      names = "--dataset",
      paramLabel = "D",
      description = "fashion-mnist, mnist, idx:DIR, csv:TRAIN[,TEST], spirals[:ARMS[:POINTS]] or blobs[:CLASSES[:POINTS[:FEATURES[:TEST_POINTS]]]] (default: ${DEFAULT-VALUE}).")
  String dataset = "fashion-mnist";

  @Option(names = "--data-dir", paramLabel = "DIR", description = "Where to look for data sets after /usr/share/datasets (then $GRADFLOW_DATA).")
  Path dataDir;

  /** Loads {@code --dataset}. */
  TrainTestSplit load() {
    return load(dataset, dataDir);
  }

  /** Loads {@code dataset} (a resumed job's own) from the places these options say. */
  TrainTestSplit load(String dataset) {
    return load(dataset, dataDir);
  }

  /** Loads a data set; an unknown form is a usage error, a missing or bad file a data error. */
  static TrainTestSplit load(String dataset, Path dataDir) {
    try {
      return DatasetLoader.fromSystem(dataDir).load(dataset);
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage(e.getMessage());
    }
  }
}
