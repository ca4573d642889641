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
   * ({@code docs/performance.md#warm-up}). {@code quiet} first: otherwise the JVM prints the
   * command on standard output.
   */
  static final List<String> JIT_FLAGS =
      List.of("-XX:CompileCommand=quiet", "-XX:CompileCommand=CompileThresholdScaling,io.gradflow.*::*,0.1");

  /** The argument file of this JVM's class path, written once. */
  private static Path classPathFile;

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
   * The java command that runs this same program, with the JVM flags gradflow needs (the Vector
   * API, {@link #JIT_FLAGS}) and those of
   * {@code $GRADFLOW_CHILD_JAVA_OPTS}; the gradflow arguments follow.
   */
  static List<String> thisProgram() {
    List<String> cmd = new ArrayList<>(List.of(currentJava(), "--add-modules", "jdk.incubator.vector"));
    cmd.addAll(JIT_FLAGS);
    String extra = System.getenv("GRADFLOW_CHILD_JAVA_OPTS");
    if (extra != null && !extra.isBlank()) {
      cmd.addAll(List.of(extra.trim().split("\\s+")));
    }
    String classPath = System.getProperty("java.class.path");
    if (classPath.length() <= MAX_INLINE_CLASS_PATH) {
      cmd.addAll(List.of("-cp", classPath));
    } else {
      cmd.add("@" + classPathFile(classPath));
    }
    cmd.add(Main.class.getName());
    return cmd;
  }

  /** A java argument file holding {@code -cp CLASS_PATH}, quoted as the launcher reads it; deleted when this JVM exits. */
  private static synchronized Path classPathFile(String classPath) {
    if (classPathFile == null) {
      try {
        Path file = Files.createTempFile("gradflow-classpath-", ".args");
        file.toFile().deleteOnExit();
        String quoted = classPath.replace("\\", "\\\\").replace("\"", "\\\"");
        Files.writeString(file, "-cp \"" + quoted + "\"\n", StandardCharsets.UTF_8);
        classPathFile = file;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write the class path for a child JVM: " + e.getMessage(), e);
      }
    }
    return classPathFile;
  }
}
