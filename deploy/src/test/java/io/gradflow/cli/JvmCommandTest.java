package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class JvmCommandTest {
  /**
   * The test class path (dozens of jars) is far longer than a page: it goes in an argument file,
   * so the child's command line stays under a page (ProcessHandle shows its arguments), and it runs.
   */
  @Test
  void aLongClassPathGoesInAnArgumentFileAndTheChildRuns() throws Exception {
    String classPath = System.getProperty("java.class.path");
    List<String> cmd = new java.util.ArrayList<>(JvmCommand.thisProgram());
    if (classPath.length() > JvmCommand.MAX_INLINE_CLASS_PATH) {
      String file = cmd.stream().filter(a -> a.startsWith("@")).findFirst().orElseThrow();
      assertTrue(Files.readString(Path.of(file.substring(1))).startsWith("-cp \""), file);
      assertTrue(String.join(" ", cmd).length() < 1024, String.join(" ", cmd));
    }
    cmd.addAll(List.of("explain", "--model", "2-2-2", "--seed", "7"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("# 2-2-2 sigmoid, seed 7"), out);
  }

  /** Every child JVM gets the JIT flags, and they print nothing: a child's output stays the program's. */
  @Test
  void theChildGetsTheJitFlagsAndTheyPrintNothing() throws Exception {
    List<String> cmd = new java.util.ArrayList<>(JvmCommand.thisProgram());
    assertTrue(cmd.containsAll(JvmCommand.JIT_FLAGS), String.join(" ", cmd));
    assertTrue(cmd.indexOf(JvmCommand.JIT_FLAGS.get(0)) < cmd.indexOf(JvmCommand.JIT_FLAGS.get(1)), "quiet first");
    assertRunsAndPrintsOnlyItsOwnOutput(cmd);
  }

  /**
   * The JVMs that gradflow does not start itself get the same flags, in the same order: the
   * launcher script, the Slurm batch script and the container image (Jib's {@code jvmFlags}).
   */
  @Test
  void theScriptTheBatchFileAndTheImageGiveTheJitFlags() throws Exception {
    Path module = Files.exists(Path.of("slurm")) ? Path.of("") : Path.of("deploy"); // run from the module or the root
    for (Path file : List.of(module.toAbsolutePath().getParent().resolve("gradflow"), module.resolve("slurm/gradflow.sbatch"),
        module.resolve("pom.xml"))) {
      String text = Files.readString(file);
      int at = -1;
      for (String flag : JvmCommand.JIT_FLAGS) {
        int next = text.indexOf(flag);
        assertTrue(next > at, file + " gives " + JvmCommand.JIT_FLAGS + " in this order (" + flag + ")");
        at = next;
      }
      assertTrue(text.contains("jdk.incubator.vector"), file + " adds the Vector API module");
    }
  }

  /**
   * On a crowded host a child also gets the flags that compile the kernels blocking, after the
   * JIT flags' {@code quiet}: this JVM takes them and they print nothing either.
   */
  @Test
  void aChildOnACrowdedHostCompilesTheKernelsBlockingAndPrintsNothing() throws Exception {
    assertTrue(JvmCommand.thisProgram().stream().noneMatch(JvmCommand.CROWDED_HOST_JIT_FLAGS::contains));
    List<String> cmd = new java.util.ArrayList<>(JvmCommand.thisProgram(true));
    assertTrue(cmd.containsAll(JvmCommand.CROWDED_HOST_JIT_FLAGS), String.join(" ", cmd));
    assertTrue(cmd.indexOf(JvmCommand.JIT_FLAGS.get(0)) < cmd.indexOf(JvmCommand.CROWDED_HOST_JIT_FLAGS.get(0)), "quiet first");
    // one collector: the serial one, unless $GRADFLOW_CHILD_JAVA_OPTS picks one (then that one alone)
    assertEquals(1, cmd.stream().filter(JvmCommand::picksCollector).count(), String.join(" ", cmd));
    assertRunsAndPrintsOnlyItsOwnOutput(cmd);
  }

  /**
   * On a crowded host a child takes the compiler directive that keeps the JDK's ASM out of C2, and
   * the JVM's own announcement of it goes to the child's standard error, not its output (the test
   * above): the child's JVM prints the directives it added ({@code -XX:+CompilerDirectivesPrint}),
   * and the one for ASM has C2 excluded and C1 not.
   */
  @Test
  void aChildOnACrowdedHostCompilesTheClassFileWriterWithC1Only() throws Exception {
    List<String> cmd = new java.util.ArrayList<>(JvmCommand.thisProgram(true));
    assertTrue(cmd.containsAll(JvmCommand.crowdedHostDirectiveFlags()), String.join(" ", cmd));
    assertTrue(JvmCommand.thisProgram().stream().noneMatch(f -> f.startsWith("-XX:CompilerDirectivesFile=")));
    cmd.add(cmd.size() - 1, "-XX:+CompilerDirectivesPrint"); // before the main class
    cmd.addAll(List.of("explain", "--model", "2-2-2"));
    Process p = new ProcessBuilder(cmd).start();
    p.getInputStream().readAllBytes();
    String err = new String(p.getErrorStream().readAllBytes());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), err);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile(
        "matching: jdk/internal/org/objectweb/asm/\\*\\.\\*\\s+c1 directives:.*?Exclude:(\\w+).*?c2 directives:.*?Exclude:(\\w+)",
        java.util.regex.Pattern.DOTALL).matcher(err);
    assertTrue(m.find(), err);
    assertEquals("false", m.group(1), "C1 compiles ASM");
    assertEquals("true", m.group(2), "C2 does not");
  }

  /** The flags that pick a collector, which a crowded host's serial collector must not meet twice. */
  @Test
  void theFlagsThatPickACollectorAreKnown() {
    for (String f : List.of("-XX:+UseSerialGC", "-XX:+UseG1GC", "-XX:+UseParallelGC", "-XX:+UseZGC", "-XX:+UseShenandoahGC")) {
      assertTrue(JvmCommand.picksCollector(f), f);
    }
    for (String f : List.of("-Xmx8g", "-XX:-UseCompressedOops", "-XX:+UseStringDeduplication", "-XX:TieredStopAtLevel=1")) {
      assertTrue(!JvmCommand.picksCollector(f), f);
    }
  }

  /** More busy JVMs than cores crowd a host; as many, or fewer, do not. */
  @Test
  void moreJvmsThanCoresCrowdAHost() {
    assertTrue(JvmCommand.crowds(3, 2));
    assertTrue(!JvmCommand.crowds(2, 2));
    assertTrue(!JvmCommand.crowds(1, 2));
    assertTrue(!JvmCommand.crowds(3, 16));
  }

  /** Runs {@code gradflow explain} with the JVM command {@code cmd}: it exits 0 and its standard output starts with the program's own. */
  private static void assertRunsAndPrintsOnlyItsOwnOutput(List<String> cmd) throws Exception {
    List<String> run = new java.util.ArrayList<>(cmd);
    run.addAll(List.of("explain", "--model", "2-2-2", "--seed", "7"));
    Process p = new ProcessBuilder(run).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.startsWith("# 2-2-2 sigmoid, seed 7"), out);
  }
}
