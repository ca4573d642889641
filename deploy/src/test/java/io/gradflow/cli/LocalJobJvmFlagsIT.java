package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The JVM flags the local launcher gives its children: the JIT flags always, the crowded-host
 * flags when they outnumber the cores, and never two collectors.
 */
class LocalJobJvmFlagsIT {
  @TempDir Path tmp;

  @Test
  void theServerAndTheWorkersCompileTheKernelsBlockingWhenTheyOutnumberTheCores() throws Exception {
    Path out = tmp.resolve("job");
    List<String> args = new ArrayList<>(List.of("train", "--workers", "2", "--out", out.toString()));
    args.addAll(Jobs.spiralsJob(0));
    args.addAll(List.of("--epochs", "100000"));
    Process launcher = Jobs.startChild(args, tmp.resolve("launcher.log"));
    try {
      Jobs.awaitText(out.resolve("logs/worker-0.log"), "joined", 90);
      Jobs.awaitText(out.resolve("logs/worker-1.log"), "joined", 90);
      List<ProcessHandle> children = launcher.descendants().toList();
      assertEquals(3, children.size(), "server + 2 workers: " + children);
      boolean crowded = JvmCommand.crowdsThisHost(3);
      for (ProcessHandle child : children) {
        List<String> cmd = child.info().arguments().map(List::of).orElseThrow();
        assertTrue(cmd.containsAll(JvmCommand.JIT_FLAGS), String.join(" ", cmd));
        assertEquals(crowded, cmd.containsAll(JvmCommand.CROWDED_HOST_JIT_FLAGS), String.join(" ", cmd));
        assertEquals(crowded, JvmCommand.CROWDED_HOST_JIT_FLAGS.stream().anyMatch(cmd::contains), String.join(" ", cmd));
        assertTrue(cmd.stream().filter(JvmCommand::picksCollector).count() <= 1, String.join(" ", cmd));
      }
    } finally {
      launcher.toHandle().destroyForcibly();
      launcher.waitFor();
    }
  }
}
