package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.gradflow.common.report.RunSummary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's default job on the real Fashion-MNIST (Debian package {@code dataset-fashion-mnist}),
 * cut to its first {@value #STEPS} steps: one process and a launcher with two worker JVMs end on
 * the same pinned {@code weights_sha256}. The pin changes only when what a job computes changes.
 */
class FashionMnistIT {
  static final Path DATA = Path.of("/usr/share/datasets/fashion-mnist");
  static final int STEPS = 60;
  /** {@code gradflow train --max-steps 60}, every other option at its default (784-256-128-10, batch 128, ...). */
  static final String PINNED = "308a64f73883fdb34f794078875cab6a46a9273210d844f96a6265ade0a62854";

  @TempDir Path tmp;

  private String train(int workers, String... extra) throws Exception {
    Prerequisites.need(Files.isRegularFile(DATA.resolve("train-images-idx3-ubyte.gz")),
        "Fashion-MNIST is not in " + DATA + ": apt-get install -y dataset-fashion-mnist");
    Path out = tmp.resolve("workers-" + workers);
    List<String> args = new ArrayList<>(List.of("train", "--workers", Integer.toString(workers), "--out", out.toString(),
        "--dataset", "fashion-mnist", "--max-steps", Integer.toString(STEPS)));
    args.addAll(List.of(extra));
    Jobs.Run r = workers == 0 ? Jobs.run(args) : Jobs.runWithFullJit(args, tmp.resolve("workers-" + workers + ".log"), 600);
    assertEquals(0, r.exitCode(), r.err() + r.out());
    RunSummary summary = Jobs.summary(out);
    assertEquals(STEPS, summary.steps());
    assertEquals(workers, summary.workers());
    assertEquals("784-256-128-10", summary.model());
    return summary.weightsSha256();
  }

  @Test
  void oneProcessAndTwoWorkerJvmsEndOnThePinnedHash() throws Exception {
    assertEquals(PINNED, train(0), "one process");
    assertEquals(PINNED, train(2), "two worker JVMs");
  }

  /** Three sharded servers: both followers' ranges begin inside layer0.W (at elements 65,536 and 131,072). */
  @Test
  void twoWorkerJvmsWithThreeShardedServersEndOnThePinnedHash() throws Exception {
    assertEquals(PINNED, train(2, "--servers", "3"), "two worker JVMs, three servers");
  }
}
