package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A model too large for the heap ends with one line that says so, exit 1, not the JVM's stack trace. */
class OutOfMemoryTest {
  @TempDir Path tmp;

  @Test
  void aModelTooLargeForTheHeapSaysSoInOneLine() throws Exception {
    List<String> cmd = new ArrayList<>(JvmCommand.thisProgram());
    cmd.add(1, "-Xmx64m");
    // 4-4000000-3: 32 million parameters, 128 MB of weights alone
    cmd.addAll(List.of("train", "--workers", "0", "--dataset", "blobs:3:300:4:60", "--model", "4-4000000-3", "--epochs", "1",
        "--out", tmp.resolve("out").toString()));
    Path log = tmp.resolve("log");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "did not end");
    String out = Files.readString(log);
    assertEquals(ExitCode.FAILED.code(), p.exitValue(), out);
    List<String> lines = out.lines().filter(l -> !l.startsWith("WARNING: Using incubator modules")).toList();
    assertEquals(1, lines.size(), out);
    assertTrue(lines.get(0).startsWith("gradflow: out of memory (Java heap space) with a heap of at most ")
        && lines.get(0).contains("a smaller --model or --batch"), out);
  }

  @Test
  void theLineNamesTheHeap() {
    assertEquals("gradflow: out of memory (Java heap space) with a heap of at most 64 MiB: use a smaller --model or --batch, or a"
        + " larger heap (GRADFLOW_JAVA_OPTS=-Xmx..., GRADFLOW_CHILD_JAVA_OPTS for a job's server and workers)",
        Main.outOfMemory(new OutOfMemoryError("Java heap space"), 64L << 20));
  }
}
