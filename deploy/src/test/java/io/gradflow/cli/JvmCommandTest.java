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
   * On a crowded host a child takes the compiler directives, and the JVM's own announcement of
   * them goes to the child's standard error, not its output (the test above): the child's JVM
   * prints the directives it added ({@code -XX:+CompilerDirectivesPrint}): every pattern of {@link
   * JvmCommand#CROWDED_HOST_C1_ONLY} has C2 excluded and C1 not, those of {@link
   * JvmCommand#CROWDED_HOST_C2_KEPT} come first and keep C2.
   */
  @Test
  void aChildOnACrowdedHostCompilesTheExchangesBookkeepingAndTheClassFileWriterWithC1Only() throws Exception {
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
    // each directive: "matching: P1, P2, ..." then its c1 and its c2 options
    java.util.regex.Matcher m = java.util.regex.Pattern.compile(
        "matching: ([^\\n]+)\\s+c1 directives:.*?Exclude:(\\w+).*?c2 directives:.*?Exclude:(\\w+)",
        java.util.regex.Pattern.DOTALL).matcher(err);
    List<List<String>> matched = new java.util.ArrayList<>();
    java.util.Map<String, String> c1Excluded = new java.util.HashMap<>();
    java.util.Map<String, String> c2Excluded = new java.util.HashMap<>();
    while (m.find()) {
      List<String> patterns = List.of(m.group(1).trim().split(", "));
      matched.add(patterns);
      for (String pattern : patterns) {
        c1Excluded.put(pattern, m.group(2));
        c2Excluded.put(pattern, m.group(3));
      }
    }
    for (String pattern : JvmCommand.CROWDED_HOST_C1_ONLY) {
      assertEquals("false", c1Excluded.get(pattern), "C1 compiles " + pattern + "\n" + err);
      assertEquals("true", c2Excluded.get(pattern), "C2 does not compile " + pattern + "\n" + err);
    }
    for (String pattern : JvmCommand.CROWDED_HOST_C2_KEPT) {
      assertEquals("false", c2Excluded.get(pattern), "C2 compiles " + pattern + "\n" + err);
    }
    int kept = indexOfDirective(matched, JvmCommand.CROWDED_HOST_C2_KEPT.get(0));
    int c1Only = indexOfDirective(matched, JvmCommand.CROWDED_HOST_C1_ONLY.get(0));
    assertTrue(kept >= 0 && kept < c1Only, "the kept methods' directive comes first: " + matched);
  }

  private static int indexOfDirective(List<List<String>> directives, String pattern) {
    for (int i = 0; i < directives.size(); i++) {
      if (directives.get(i).contains(pattern)) {
        return i;
      }
    }
    return -1;
  }

  /**
   * The C1-only patterns name gradflow classes that exist (a renamed class would leave its pattern
   * matching nothing), and none of them takes a class that copies, sums or updates the parameters
   * or runs the kernels, unless {@link JvmCommand#CROWDED_HOST_C2_KEPT} gives that method back.
   */
  @Test
  void theC1OnlyPatternsTakeTheExchangesBookkeepingAndNoneOfItsData() throws Exception {
    List<String> classes = classesOnTheClassPath();
    assertTrue(classes.contains("io/gradflow/ps/ExchangeSession"), "the class path holds the server's classes");
    for (String pattern : JvmCommand.CROWDED_HOST_C1_ONLY) {
      if (pattern.startsWith("jdk/")) {
        continue; // the JDK's: absent from JDKs that spin classes without ASM
      }
      assertTrue(classes.stream().anyMatch(c -> classMatches(pattern, c)), pattern + " matches no class on the class path");
    }
    List<String> dataPath = classes.stream()
        .filter(c -> c.startsWith("io/gradflow/common/kernels/") || c.startsWith("io/gradflow/common/optim/")
            || c.startsWith("io/gradflow/common/reduce/") || c.startsWith("io/gradflow/common/nn/")
            || c.startsWith("io/gradflow/common/wire/") || c.startsWith("io/gradflow/common/shm/Shared")
            || c.startsWith("io/gradflow/common/train/") || c.startsWith("io/gradflow/common/data/")
            || c.startsWith("io/gradflow/proto/TensorChunk"))
        .toList();
    assertTrue(dataPath.contains("io/gradflow/common/shm/SharedPushArea"), dataPath.toString());
    for (String c : dataPath) {
      for (String pattern : JvmCommand.CROWDED_HOST_C1_ONLY) {
        assertTrue(!classMatches(pattern, c), pattern + " takes " + c + ", which works on the data");
      }
    }
    assertTrue(classMatches(JvmCommand.CROWDED_HOST_C1_ONLY.get(1), "io/gradflow/ps/ExchangeSocket$Replies"));
    assertTrue(!classMatches("io/gradflow/ps/Pull.*", "io/gradflow/ps/PullAnswers"));
    assertTrue(JvmCommand.CROWDED_HOST_C2_KEPT.stream().allMatch(k -> JvmCommand.CROWDED_HOST_C1_ONLY.stream()
        .anyMatch(p -> classMatches(p, k.substring(0, k.lastIndexOf('.'))))), "each kept method is one the C1-only patterns take");
  }

  /** Whether the class part of directive pattern {@code pattern} ({@code a/b/C*.m}: a {@code *} at either end) matches class {@code name}. */
  private static boolean classMatches(String pattern, String name) {
    String cls = pattern.substring(0, pattern.lastIndexOf('.'));
    boolean anyStart = cls.startsWith("*");
    boolean anyEnd = cls.endsWith("*");
    String core = cls.substring(anyStart ? 1 : 0, cls.length() - (anyEnd ? 1 : 0));
    return anyStart && anyEnd ? name.contains(core)
        : anyStart ? name.endsWith(core)
        : anyEnd ? name.startsWith(core)
        : name.equals(core);
  }

  /** The classes on this JVM's class path, as {@code a/b/C$D} (directories and jars). */
  private static List<String> classesOnTheClassPath() throws Exception {
    List<String> names = new java.util.ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
      Path p = Path.of(entry);
      if (Files.isDirectory(p)) {
        try (var files = Files.walk(p)) {
          files.map(f -> p.relativize(f).toString().replace(java.io.File.separatorChar, '/'))
              .filter(f -> f.endsWith(".class")).forEach(f -> names.add(f.substring(0, f.length() - 6)));
        }
      } else if (Files.isRegularFile(p) && entry.endsWith(".jar")) {
        try (var jar = new java.util.jar.JarFile(p.toFile())) {
          jar.stream().map(java.util.jar.JarEntry::getName).filter(f -> f.endsWith(".class"))
              .forEach(f -> names.add(f.substring(0, f.length() - 6)));
        }
      }
    }
    return names;
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
