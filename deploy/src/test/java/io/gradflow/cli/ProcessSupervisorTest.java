package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.gradflow.cli.ProcessSupervisor.Child;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The process supervisor of both launchers, on small shell processes. */
class ProcessSupervisorTest {
  @TempDir Path tmp;

  @BeforeAll
  static void needsSh() {
    assumeTrue(SubmitCommandTest.onPath("sh"), "no sh");
  }

  private static ProcessBuilder sh(String script, Path log) {
    return new ProcessBuilder("sh", "-c", script).redirectErrorStream(true).redirectOutput(log.toFile());
  }

  @Test
  void closeStopsEveryChildEvenOneThatIgnoresSigterm() throws Exception {
    Child polite;
    Child stubborn;
    try (ProcessSupervisor s = new ProcessSupervisor("test", Duration.ZERO)) {
      polite = s.start("polite", sh("exec sleep 60", tmp.resolve("a.log")), tmp.resolve("a.log"));
      stubborn = s.start("stubborn", sh("trap '' TERM; while :; do sleep 1; done", tmp.resolve("b.log")), tmp.resolve("b.log"));
      Thread.sleep(300); // let the trap be set
      assertEquals(2, s.children().size());
    }
    assertFalse(polite.process.isAlive());
    assertFalse(stubborn.process.isAlive());
  }

  @Test
  void closingStdinGivesAChildItsGraceFirst() throws Exception {
    Path log = tmp.resolve("c.log");
    Child c;
    long started = System.nanoTime();
    try (ProcessSupervisor s = new ProcessSupervisor("test", Duration.ofSeconds(20))) {
      // ends by itself at the end of its stdin, as the ssh wrapper does, and says so
      c = s.start("reader", new ProcessBuilder("sh", "-c", "cat >/dev/null; echo stdin closed")
          .redirectErrorStream(true).redirectOutput(log.toFile()), log);
    }
    assertEquals(0, c.process.exitValue(), "ended by itself, not by a signal");
    assertEquals("stdin closed", c.lastWords());
    assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(15), "did not wait out the grace");
  }

  @Test
  void aFailureIsReportedWithItsCodeButNotOnceStopping() throws Exception {
    try (ProcessSupervisor s = new ProcessSupervisor("test", Duration.ZERO)) {
      CompletableFuture<Integer> failed = new CompletableFuture<>();
      Child c = s.start("failing", sh("exit 7", tmp.resolve("d.log")), tmp.resolve("d.log"));
      s.onFailure(c, failed::complete);
      assertEquals(7, failed.get(30, TimeUnit.SECONDS));

      CompletableFuture<Integer> ok = new CompletableFuture<>();
      Child fine = s.start("fine", sh("exit 0", tmp.resolve("e.log")), tmp.resolve("e.log"));
      s.onFailure(fine, ok::complete);
      fine.process.waitFor();

      CompletableFuture<Integer> stopped = new CompletableFuture<>();
      Child sleeper = s.start("sleeper", sh("exec sleep 60", tmp.resolve("f.log")), tmp.resolve("f.log"));
      s.onFailure(sleeper, stopped::complete);
      s.stopAll();
      Thread.sleep(200);
      assertFalse(ok.isDone(), "exit 0 is no failure");
      assertFalse(stopped.isDone(), "a child stopped by the supervisor is no failure");
    }
  }

  @Test
  void awaitPortReadsThePortOrReportsWhyTheServerEnded() throws Exception {
    try (ProcessSupervisor s = new ProcessSupervisor("test", Duration.ZERO)) {
      Path portFile = tmp.resolve("port");
      Child serving = s.start("parameter server", sh("sleep 0.2; echo 4711 > " + portFile + "; exec sleep 60",
          tmp.resolve("g.log")), tmp.resolve("g.log"));
      assertEquals(4711, s.awaitPort(serving, portFile));

      Child dying = s.start("parameter server", sh("echo 'gradflow server: data error: no such file'; exit 3",
          tmp.resolve("h.log")), tmp.resolve("h.log"));
      CommandFailure f = assertThrows(CommandFailure.class, () -> s.awaitPort(dying, tmp.resolve("none")));
      assertEquals(ExitCode.DATA, f.exitCode());
      assertEquals("parameter server exited with code 3 before serving: gradflow server: data error: no such file",
          f.getMessage());
    }
  }

  @Test
  void lastLineSkipsBlankLinesAndSaysWhenThereIsNone() throws Exception {
    Path log = tmp.resolve("i.log");
    Files.writeString(log, "first\n  the reason  \n\n   \n");
    assertEquals("the reason", ProcessSupervisor.lastLine(log));
    Files.writeString(log, "");
    assertEquals("(its log " + log + " is empty)", ProcessSupervisor.lastLine(log));
    assertEquals("(no log at " + tmp.resolve("x") + ")", ProcessSupervisor.lastLine(tmp.resolve("x")));
  }

  @Test
  void exitCodesOfChildren() {
    assertEquals(ExitCode.DATA, ExitCode.ofChild(3));
    assertEquals(ExitCode.MODEL_FILE, ExitCode.ofChild(4));
    assertEquals(ExitCode.USAGE, ExitCode.ofChild(2));
    assertEquals(ExitCode.FAILED, ExitCode.ofChild(137));
    for (ExitCode permanent : List.of(ExitCode.USAGE, ExitCode.DATA, ExitCode.MODEL_FILE, ExitCode.REFUSED)) {
      assertTrue(permanent.isPermanent(), permanent.name());
    }
    assertFalse(ExitCode.UNAVAILABLE.isPermanent());
    assertFalse(ExitCode.FAILED.isPermanent());
    assertTrue(ExitCode.of(137).isEmpty());
  }
}
