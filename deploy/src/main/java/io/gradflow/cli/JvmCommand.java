package io.gradflow.cli;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** How this program runs: the java binary, the jar, and the command line that starts it again. */
final class JvmCommand {
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
   * The java command that runs this same program, with the JVM flags gradflow needs and those of
   * {@code $GRADFLOW_CHILD_JAVA_OPTS}; the gradflow arguments follow.
   */
  static List<String> thisProgram() {
    List<String> cmd = new ArrayList<>(List.of(currentJava(), "--add-modules", "jdk.incubator.vector"));
    String extra = System.getenv("GRADFLOW_CHILD_JAVA_OPTS");
    if (extra != null && !extra.isBlank()) {
      cmd.addAll(List.of(extra.trim().split("\\s+")));
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
    return cmd;
  }
}
