package io.gradflow.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** How this program runs: the java binary, the jar, and the command line that starts it again. */
final class JvmCommand {
  /**
   * A class path longer than this goes to the child in a java argument file ({@code @FILE}): a
   * command line over a page (4 KiB) hides all of a process's arguments from {@link
   * ProcessHandle.Info#arguments()} on Linux (JDK 17), and the children's arguments are how they
   * are found. Only class paths of directories and many jars (tests) are this long; a jar is not.
   */
  static final int MAX_INLINE_CLASS_PATH = 1024;

  /**
   * The JIT flags of every gradflow JVM: gradflow's own methods reach the top compiler tier after a
   * tenth of the usual calls. The step path (the worker's push and pull, the server's exchange
   * session, the compute drivers) runs once a step, a few hundred times a second, so at the usual
   * thresholds (5,000 calls) it stays in C1's profiled code for about ten epochs of a job; the
   * JDK's and the libraries' methods keep their thresholds, so few other methods compile
   * ({@code docs/performance.md#warm-up}). The server's step bookkeeping that branches at an
   * epoch's end or a checkpoint ({@code ClosedStepRecords.stepClosed}, {@code JobRecorder.onStep})
   * is compiled on its own, not inlined into the exchange session: a branch first taken at the
   * first epoch's end then recompiles that small method, where inlined it threw away the compiled
   * exchange session, which C2 then compiled a second time while the job ran. The optimizer's
   * vector loop ({@code VectorSgdLoop.apply}) is compiled on its own too: inlined into its caller
   * it ran at one of two speeds, 0.12 or 0.35 ms per update, depending on the compilation; on
   * its own at the first in every run measured (JMH {@code SgdUpdateBench}, the 2-worker job's
   * "update", docs/performance.md).
   * {@code quiet} first: otherwise the JVM prints the command on standard output.
   */
  static final List<String> JIT_FLAGS = List.of(
      "-XX:CompileCommand=quiet",
      "-XX:CompileCommand=CompileThresholdScaling,io.gradflow.*::*,0.1",
      "-XX:CompileCommand=dontinline,io.gradflow.ps.ClosedStepRecords::stepClosed",
      "-XX:CompileCommand=dontinline,io.gradflow.common.report.JobRecorder::onStep",
      "-XX:CompileCommand=dontinline,io.gradflow.common.optim.VectorSgdLoop::apply");

  /**
   * The JIT flags added for the JVMs of a local job on a crowded host, one with more of them than
   * cores ({@link #crowds}): the kernels and the Vector API compile blocking, so a thread that
   * reaches one of them before it is compiled waits for the compiler instead of running it in the
   * interpreter. Vector API code runs there many times slower and allocates a vector per operation;
   * on a crowded host that interpreted work takes the core the compiler needs, so each JVM's
   * warm-up lasts longer. With a core to spare (the single process) running on is better, and the
   * flags are left out ({@code docs/performance.md#warm-up}). They also inline less (hot methods
   * up to 100 bytes of bytecode instead of 325, others up to 20 instead of 35; the Vector API's
   * methods are force-inlined whatever the limits): C2's compilations of the step path are smaller
   * and finish sooner, and the first epoch of the default job is shorter by about 0.4 s, its later
   * epochs as fast (20 alternating pairs, docs/performance.md#warm-up).
   */
  static final List<String> CROWDED_HOST_JIT_FLAGS = List.of(
      "-XX:CompileCommand=BackgroundCompilation,io.gradflow.common.kernels.*::*,false",
      "-XX:CompileCommand=BackgroundCompilation,jdk.incubator.vector.*::*,false",
      "-XX:CompileCommand=BackgroundCompilation,jdk.internal.vm.vector.*::*,false",
      "-XX:FreqInlineSize=100",
      "-XX:MaxInlineSize=20");

  /**
   * What a JVM on a crowded host compiles with C1 alone (compiler directive patterns, {@code
   * package/Class.method} with {@code *} at either end of a part). C2 compiles a method again from
   * its profile, several times C1's work, which pays where a method runs often or loops over many
   * values; the methods here do neither:
   *
   * <ul>
   *   <li>The JDK's copy of ASM, which writes the classes the JVM spins for method handles, lambdas
   *       and string concatenations. Its {@code Frame.execute} (2,305 bytes of bytecode) gets hot
   *       while a JVM starts and again when the first steps spin their classes, and C2 compiled it
   *       up to three times in the server, 0.19 to 0.26 s each, the last at the first step, on the
   *       cores the job trains on. JDKs that write those classes without ASM (24 on) match nothing.
   *   <li>The step's exchange on the shared-memory plane, its bookkeeping rather than its data: the
   *       exchange socket and session, the push's checks and commit, the pulls waiting, the
   *       micro-shards' assignment, the worker's loop and calls, the exchange's frames and small
   *       messages. Each runs a few times a step and loops over micro-shards and tensors at most;
   *       the copies and sums of the parameters ({@code SharedPushArea}, {@code SharedWeights},
   *       {@code ExactGradientSum}, the optimizer, the kernels) are elsewhere and C2 compiles them.
   *       C2 compiled about 120 of these methods in the server and 60 in each worker in the default
   *       job's first epoch, 0.65 to 0.70 s of compile time in the server and 0.27 to 0.34 s in each
   *       worker; C1-only, 0.19 to 0.21 s and 0.13 to 0.15 s.
   * </ul>
   *
   * Measured as alternating pairs of the default job and of the bench ({@code
   * docs/performance.md#warm-up}): the first epoch 0.24 to 0.41 s shorter, later epochs and the
   * bench's steady samples/s the same within the machine's moves.
   */
  static final List<String> CROWDED_HOST_C1_ONLY = List.of(
      "jdk/internal/org/objectweb/asm/*.*",
      "io/gradflow/ps/ExchangeSocket*.*",
      "io/gradflow/ps/ExchangeSession*.*",
      "io/gradflow/ps/PushSession*.*",
      "io/gradflow/ps/StepCoordinator.*",
      "io/gradflow/ps/OpenSteps*.*",
      "io/gradflow/ps/MicroShardAssignment.*",
      "io/gradflow/ps/WorkItem.*",
      "io/gradflow/ps/Member.*",
      "io/gradflow/ps/Membership.*",
      "io/gradflow/ps/WaitingPulls*.*",
      "io/gradflow/ps/PullAnswers*.*",
      "io/gradflow/ps/Pull.*",
      "io/gradflow/ps/StepTimings*.*",
      "io/gradflow/worker/*.*",
      "io/gradflow/common/shm/ExchangeFrames*.*",
      "io/gradflow/proto/ExchangeRequest*.*",
      "io/gradflow/proto/ExchangeReply*.*",
      "io/gradflow/proto/PushHeader*.*",
      "io/gradflow/proto/PushResponse*.*",
      "io/gradflow/proto/PullRequest*.*",
      "io/gradflow/proto/WeightsHeader*.*");

  /**
   * Methods that {@link #CROWDED_HOST_C1_ONLY} would take and that loop over a tensor's elements:
   * C2 compiles them (the first directive that matches a method is the one it gets).
   */
  static final List<String> CROWDED_HOST_C2_KEPT = List.of("io/gradflow/ps/PushSession.addStaged");

  /** The compiler directives of a JVM on a crowded host: {@link #CROWDED_HOST_C2_KEPT}, then {@link #CROWDED_HOST_C1_ONLY}. */
  static final String CROWDED_HOST_COMPILER_DIRECTIVES =
      "[{ match: " + patterns(CROWDED_HOST_C2_KEPT) + ", c2: { Exclude: false } },\n"
          + " { match: " + patterns(CROWDED_HOST_C1_ONLY) + ", c2: { Exclude: true } }]\n";

  private static String patterns(List<String> patterns) {
    return "[" + String.join(", ", patterns.stream().map(p -> "\"" + p + "\"").toList()) + "]";
  }

  /**
   * The collector of a JVM on a crowded host, unless {@code $GRADFLOW_CHILD_JAVA_OPTS} picks one:
   * the serial collector, which has no threads of its own. G1's concurrent and parallel threads
   * only take turns with the training threads when no core is spare, and its barriers cost every
   * reference store; the serial collector's young pauses here last about 2 ms every 2 s.
   */
  static final String CROWDED_HOST_GC_FLAG = "-XX:+UseSerialGC";

  /** Whether {@code jvms} busy JVMs crowd a host of {@code cores} cores: more JVMs than cores. */
  static boolean crowds(int jvms, int cores) {
    return jvms > cores;
  }

  /** Whether {@code jvms} busy JVMs crowd this host. */
  static boolean crowdsThisHost(int jvms) {
    return crowds(jvms, Runtime.getRuntime().availableProcessors());
  }

  /** Whether JVM flag {@code flag} picks a garbage collector ({@code -XX:+UseG1GC}, {@code -XX:+UseParallelGC}, ...). */
  static boolean picksCollector(String flag) {
    return flag.matches("-XX:\\+Use\\w+GC");
  }

  /** The argument file of this JVM's class path, written once. */
  private static Path classPathFile;

  /** The file of {@link #CROWDED_HOST_COMPILER_DIRECTIVES}, written once. */
  private static Path directivesFile;

  private JvmCommand() {}

  /** The java binary running this JVM. */
  static String currentJava() {
    return ProcessHandle.current().info().command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
  }

  /** The jar this program was loaded from, when it was loaded from a jar. */
  static Optional<Path> runningJar() {
    try {
      var source = JvmCommand.class.getProtectionDomain().getCodeSource();
      if (source == null) {
        return Optional.empty();
      }
      Path p = Path.of(source.getLocation().toURI());
      return Files.isRegularFile(p) && p.toString().endsWith(".jar") ? Optional.of(p.toAbsolutePath()) : Optional.empty();
    } catch (URISyntaxException | IllegalArgumentException | SecurityException e) {
      return Optional.empty();
    }
  }

  /**
   * Lets the class path call native code without a warning: Java 24 and later print four lines of
   * "restricted method" warnings in every JVM whose Netty loads its epoll library (a server, a
   * worker), unless told that the class path may; Java 17 takes the option and needs none. The
   * jar's manifest says the same ({@code Enable-Native-Access}) for {@code java -jar}.
   */
  static final String NATIVE_ACCESS_FLAG = "--enable-native-access=ALL-UNNAMED";

  /**
   * The java command that runs this same program, with the JVM flags gradflow needs (the Vector
   * API, {@link #NATIVE_ACCESS_FLAG}, {@link #JIT_FLAGS}) and those of
   * {@code $GRADFLOW_CHILD_JAVA_OPTS}; the gradflow arguments follow.
   */
  static List<String> thisProgram() {
    return thisProgram(false);
  }

  /**
   * As {@link #thisProgram()}; {@code crowdedHost}: with {@link #CROWDED_HOST_JIT_FLAGS}, {@link
   * #crowdedHostDirectiveFlags()} and, unless
   * {@code $GRADFLOW_CHILD_JAVA_OPTS} picks a collector, {@link #CROWDED_HOST_GC_FLAG}.
   */
  static List<String> thisProgram(boolean crowdedHost) {
    List<String> cmd = new ArrayList<>(List.of(currentJava(), "--add-modules", "jdk.incubator.vector", NATIVE_ACCESS_FLAG));
    cmd.addAll(JIT_FLAGS);
    String extra = System.getenv("GRADFLOW_CHILD_JAVA_OPTS");
    List<String> extraFlags = extra == null || extra.isBlank() ? List.of() : List.of(extra.trim().split("\\s+"));
    if (crowdedHost) {
      cmd.addAll(CROWDED_HOST_JIT_FLAGS);
      cmd.addAll(crowdedHostDirectiveFlags());
      if (extraFlags.stream().noneMatch(JvmCommand::picksCollector)) {
        cmd.add(CROWDED_HOST_GC_FLAG);
      }
    }
    cmd.addAll(extraFlags);
    String classPath = System.getProperty("java.class.path");
    if (classPath.length() <= MAX_INLINE_CLASS_PATH) {
      cmd.addAll(List.of("-cp", classPath));
    } else {
      cmd.add("@" + classPathFile(classPath));
    }
    cmd.add(Main.class.getName());
    return cmd;
  }

  /**
   * The flags that give a child {@link #CROWDED_HOST_COMPILER_DIRECTIVES}: the directives file is a
   * diagnostic option, and the JVM announces the directives it adds on its standard output, which
   * {@code -XX:+DisplayVMOutputToStderr} sends to the child's log instead (a server's standard
   * output carries its events).
   */
  static List<String> crowdedHostDirectiveFlags() {
    return List.of("-XX:+UnlockDiagnosticVMOptions", "-XX:+DisplayVMOutputToStderr",
        "-XX:CompilerDirectivesFile=" + directivesFile());
  }

  /** The file of {@link #CROWDED_HOST_COMPILER_DIRECTIVES}; deleted when this JVM exits (its children have read it when they started). */
  private static synchronized Path directivesFile() {
    if (directivesFile == null) {
      directivesFile = fileForChildren("gradflow-compiler-directives-", ".json", CROWDED_HOST_COMPILER_DIRECTIVES,
          "the compiler directives");
    }
    return directivesFile;
  }

  /** A java argument file holding {@code -cp CLASS_PATH}, quoted as the launcher reads it; deleted when this JVM exits. */
  private static synchronized Path classPathFile(String classPath) {
    if (classPathFile == null) {
      String quoted = classPath.replace("\\", "\\\\").replace("\"", "\\\"");
      classPathFile = fileForChildren("gradflow-classpath-", ".args", "-cp \"" + quoted + "\"\n", "the class path");
    }
    return classPathFile;
  }

  /** A new temporary file holding {@code content}, deleted when this JVM exits; {@code what} names it in the error. */
  private static Path fileForChildren(String prefix, String suffix, String content, String what) {
    try {
      Path file = Files.createTempFile(prefix, suffix);
      file.toFile().deleteOnExit();
      Files.writeString(file, content, StandardCharsets.UTF_8);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + what + " for a child JVM: " + e.getMessage(), e);
    }
  }
}
