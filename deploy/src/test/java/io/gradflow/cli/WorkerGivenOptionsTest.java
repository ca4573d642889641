package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** A worker compares with the server's job only the job options given on its command line. */
class WorkerGivenOptionsTest {
  @TempDir Path tmp;

  /**
   * A real server (a child JVM) runs the spirals job with --lr 0.05: a worker given only --lr 0.1
   * is refused naming lr alone; a worker given only --lr 0.05 joins and finishes the job.
   */
  @Test
  void aRealServerAcceptsAWorkerGivenOnlyItsOwnLr() throws Exception {
    Process p = startServer("--lr", "0.05");
    try {
      String target = target();
      Jobs.Run refused = Jobs.run(List.of("worker", "--server", target, "--lr", "0.1"));
      assertEquals(ExitCode.REFUSED.code(), refused.exitCode(), refused.err());
      assertTrue(refused.err().contains("lr: 0.05 (server) vs 0.1 (worker)")
          && !refused.err().contains("batch") && !refused.err().contains("model"), refused.err());
      Jobs.Run ok = Jobs.run(List.of("worker", "--server", target, "--lr", "0.05", "--warmup-passes", "0"));
      assertEquals(0, ok.exitCode(), ok.err());
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("server.log")));
    } finally {
      p.destroyForcibly();
    }
  }

  /**
   * A model option given alone is compared alone: a worker given the server's --model (or its
   * --activation) takes the rest of the job from the server, whose dataset, batch and epochs differ
   * from the worker's defaults; another --activation is refused naming the activations alone.
   */
  @Test
  void aRealServerAcceptsAWorkerGivenOnlyItsOwnModel() throws Exception {
    Process p = startServer();
    try {
      String target = target();
      Jobs.Run refused = Jobs.run(List.of("worker", "--server", target, "--activation", "relu"));
      assertEquals(ExitCode.REFUSED.code(), refused.exitCode(), refused.err());
      assertEquals(1, refused.err().strip().lines().count(), refused.err());
      assertTrue(refused.err().contains("activations: tanh,tanh (server) vs relu,relu (worker)")
          && !refused.err().contains("batch") && !refused.err().contains("dataset")
          && !refused.err().contains("model:"), refused.err());
      Jobs.Run ok = Jobs.run(List.of("worker", "--server", target, "--model", "2-24-24-3",
          "--activation", "tanh", "--warmup-passes", "0"));
      assertEquals(0, ok.exitCode(), ok.err());
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("server.log")));
    } finally {
      p.destroyForcibly();
    }
  }

  /** Starts {@code gradflow server} for one worker of a 5-step spirals job with {@code extra}, on 127.0.0.1 and a free port. */
  private Process startServer(String... extra) throws Exception {
    List<String> server = new ArrayList<>(List.of("server", "--port", "0", "--bind", "127.0.0.1",
        "--port-file", tmp.resolve("port").toString(), "--workers", "1", "--out", tmp.resolve("out").toString(),
        "--linger-seconds", "0"));
    server.addAll(Jobs.spiralsJob(5));
    server.addAll(List.of(extra));
    return Jobs.startChild(server, tmp.resolve("server.log"));
  }

  /** The started server's address, once it wrote its port (up to 60 s). */
  private String target() throws Exception {
    Path portFile = tmp.resolve("port");
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (!Files.exists(portFile) && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    return "127.0.0.1:" + Files.readString(portFile).strip();
  }

  /** The job options of {@code gradflow worker ARGS}, parsed as the command does. */
  private static JobOptions workerJob(String... args) {
    CommandLine cl = Main.commandLine();
    CommandLine.ParseResult parsed = cl.parseArgs(args);
    CommandLine sub = parsed.subcommand().commandSpec().commandLine();
    return ((WorkerCommand) sub.getCommand()).job;
  }

  /** The server's job: Fashion-MNIST's reference job with --lr 0.05. */
  private static JobOptions serverJob() {
    return workerJob("worker", "--server", "h:1", "--model", "784-64-10", "--batch", "96", "--seed", "7",
        "--dataset", "fashion-mnist", "--lr", "0.05");
  }

  @Test
  void theServersOwnLrGivenAloneIsAccepted() {
    JobOptions worker = workerJob("worker", "--server", "h:1", "--lr", "0.05");
    assertEquals(Set.of("--lr"), worker.given());
    JobOptions server = serverJob();
    assertEquals(List.of(), GivenJobOptions.differences(worker.given(), server.modelSpec(),
        server.trainingConfig(), worker));
  }

  @Test
  void theServersOwnModelGivenAloneIsAccepted() {
    JobOptions worker = workerJob("worker", "--server", "h:1", "--model", "784-64-10");
    assertEquals(List.of(), GivenJobOptions.differences(worker.given(), serverJob().modelSpec(),
        serverJob().trainingConfig(), worker));
    JobOptions relu = workerJob("worker", "--server", "h:1", "--activation", "relu");
    assertEquals(List.of(), GivenJobOptions.differences(relu.given(), serverJob().modelSpec(),
        serverJob().trainingConfig(), relu));
  }

  @Test
  void anotherModelIsRefusedNamingOnlyIt() {
    JobOptions worker = workerJob("worker", "--server", "h:1", "--model", "784-32-10");
    List<String> diffs = GivenJobOptions.differences(worker.given(), serverJob().modelSpec(),
        serverJob().trainingConfig(), worker);
    assertEquals(List.of("model: 784-64-10 (server) vs 784-32-10 (worker)"), diffs);
  }

  @Test
  void anotherLrIsRefusedNamingOnlyIt() {
    JobOptions worker = workerJob("worker", "--server", "h:1", "--lr", "0.1", "--data-dir", "/tmp");
    assertEquals(Set.of("--lr"), worker.given());
    List<String> diffs = GivenJobOptions.differences(worker.given(), serverJob().modelSpec(),
        serverJob().trainingConfig(), worker);
    assertEquals(1, diffs.size(), diffs.toString());
    assertTrue(diffs.get(0).startsWith("lr: 0.05 (server) vs 0.1 (worker)"), diffs.get(0));
  }
}
