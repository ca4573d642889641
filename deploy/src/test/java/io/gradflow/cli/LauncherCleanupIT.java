package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** No orphan JVMs, ever: not at the end, not on Ctrl-C or kill -9 of the launcher, not when a child dies. */
class LauncherCleanupIT {
  @TempDir Path tmp;

  private List<String> longJob(Path out) {
    List<String> args = new ArrayList<>(List.of("train", "--workers", "2", "--out", out.toString()));
    args.addAll(Jobs.spiralsJob(0));
    args.addAll(List.of("--epochs", "100000", "--push-jitter-ms", "20"));
    return args;
  }

  /** Starts a launcher JVM and waits until both its workers have joined; returns it. */
  private Process launchAndAwaitWorkers(Path out, Path log) throws Exception {
    Process launcher = Jobs.startChild(longJob(out), log);
    Jobs.awaitText(out.resolve("logs/worker-0.log"), "joined", 90);
    Jobs.awaitText(out.resolve("logs/worker-1.log"), "joined", 90);
    return launcher;
  }

  @Test
  void killingTheLauncherWithSigkillLeavesNoChild() throws Exception {
    Path out = tmp.resolve("kill9");
    Process launcher = launchAndAwaitWorkers(out, tmp.resolve("kill9.log"));
    List<ProcessHandle> children = launcher.descendants().toList();
    assertEquals(3, children.size(), "server + 2 workers: " + children);
    launcher.toHandle().destroyForcibly();
    assertTrue(Jobs.allGone(children, 20), "children outlived the launcher: " + children);
  }

  @Test
  void ctrlCStopsEveryChild() throws Exception {
    Path out = tmp.resolve("sigint");
    Process launcher = launchAndAwaitWorkers(out, tmp.resolve("sigint.log"));
    List<ProcessHandle> children = launcher.descendants().toList();
    new ProcessBuilder("kill", "-INT", Long.toString(launcher.pid())).start().waitFor();
    assertTrue(launcher.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), "launcher did not stop on SIGINT");
    assertTrue(Jobs.allGone(children, 20), "children outlived Ctrl-C: " + children);
  }

  @Test
  void whenEveryWorkerDiesTheJobStopsWithTheReasonAndNoChildIsLeft() throws Exception {
    Path out = tmp.resolve("workers-die");
    List<String> args = longJob(out);
    args.addAll(List.of("--max-restarts", "0"));
    CompletableFuture<Jobs.Run> run = CompletableFuture.supplyAsync(() -> Jobs.run(args));
    Jobs.awaitText(out.resolve("logs/worker-0.log"), "joined", 90);
    Jobs.awaitText(out.resolve("logs/worker-1.log"), "joined", 90);
    for (String name : List.of("worker-0", "worker-1")) {
      ProcessHandle worker = ProcessHandle.current().descendants()
          .filter(p -> p.info().arguments().map(a -> String.join(" ", a)).orElse("").contains("--name " + name))
          .findFirst().orElseThrow();
      worker.destroyForcibly();
      worker.onExit().get(20, java.util.concurrent.TimeUnit.SECONDS);
    }
    Jobs.Run r = run.get(60, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals(ExitCode.FAILED.code(), r.exitCode(), r.err());
    assertTrue(r.err().contains("exited with code 137") && r.err().contains("no worker left"), r.err());
    assertTrue(r.out().contains("the job goes on with 1 worker(s)"), r.out());
    assertTrue(Jobs.allGone(ProcessHandle.current().descendants().toList(), 20), "children left behind");
  }
}
