package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jar on Java 25 (the Temurin JDK beside the default Java 17): a local job with a server and
 * two worker JVMs ends on the weights Java 17 gives, and no JVM of it prints a warning but the
 * Vector API's incubator notice (Java 24 and later warn of every native library a class path
 * loads, Netty's epoll one included, unless told it may: {@link JvmCommand#NATIVE_ACCESS_FLAG}).
 */
class Java25IT {
  /** The newest Temurin JDK under /usr/lib/jvm ({@code temurin-25-jdk-amd64} on the build machines). */
  static final Path JAVA_25 = newestTemurin();

  @TempDir Path tmp;

  private static Path newestTemurin() {
    try (Stream<Path> dirs = Files.list(Path.of("/usr/lib/jvm"))) {
      return dirs.filter(d -> d.getFileName().toString().matches("temurin-\\d+-jdk.*"))
          .max(java.util.Comparator.comparingInt(
              d -> Integer.parseInt(d.getFileName().toString().replaceAll("temurin-(\\d+)-jdk.*", "$1"))))
          .map(d -> d.resolve("bin/java"))
          .orElse(Path.of("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java"));
    } catch (java.io.IOException e) {
      return Path.of("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java");
    }
  }

  @Test
  void aLocalJobOnJava25EndsOnJava17sWeightsWithoutWarnings() throws Exception {
    assertTrue(Files.isExecutable(JAVA_25), JAVA_25 + " is missing: the build machine has Temurin 25 beside Java 17");
    Path java17 = tmp.resolve("java17");
    List<String> reference = new ArrayList<>(List.of("train", "--workers", "0", "--out", java17.toString()));
    reference.addAll(Jobs.spiralsJob(20));
    Jobs.Run single = Jobs.run(reference);
    assertEquals(0, single.exitCode(), single.err());

    Path java25 = tmp.resolve("java25");
    List<String> cmd = new ArrayList<>(List.of(JAVA_25.toString(), "--add-modules", "jdk.incubator.vector",
        "-jar", ClusterTesting.JAR.toString(), "train", "--workers", "2", "--out", java25.toString()));
    cmd.addAll(Jobs.spiralsJob(20));
    Path launcherLog = tmp.resolve("launcher.log");
    Process launcher = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(launcherLog.toFile()).start();
    assertTrue(launcher.waitFor(120, TimeUnit.SECONDS), "the job did not end in 120 s:\n" + Files.readString(launcherLog));
    assertEquals(0, launcher.exitValue(), Files.readString(launcherLog));

    assertEquals(Jobs.summary(java17).weightsSha256(), Jobs.summary(java25).weightsSha256());
    List<Path> logs = new ArrayList<>(List.of(launcherLog));
    try (Stream<Path> files = Files.list(java25.resolve("logs"))) {
      files.filter(p -> p.toString().endsWith(".log")).forEach(logs::add);
    }
    assertEquals(4, logs.size(), "the launcher's, the server's and two workers' logs: " + logs);
    for (Path log : logs) {
      assertEquals(List.of(), warnings(log), log.toString());
    }
  }

  /** A worker started by hand with {@code java -jar} takes the jar manifest's native access. */
  @Test
  void aWorkerStartedWithJavaDashJarOnJava25PrintsNoWarning() throws Exception {
    Path log = tmp.resolve("worker.log");
    Process worker = new ProcessBuilder(JAVA_25.toString(), "--add-modules", "jdk.incubator.vector", "-jar",
        ClusterTesting.JAR.toString(), "worker", "--server", "unix:" + tmp.resolve("nobody.sock"),
        "--reconnect-seconds", "0", "--rpc-timeout", "2")
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    assertTrue(worker.waitFor(60, TimeUnit.SECONDS), Files.readString(log));
    assertEquals(ExitCode.UNAVAILABLE.code(), worker.exitValue(), Files.readString(log));
    assertEquals(List.of(), warnings(log), Files.readString(log));
  }

  /** The lines of {@code log} that start with WARNING, but for the Vector API's incubator notice. */
  private static List<String> warnings(Path log) throws java.io.IOException {
    return Files.readAllLines(log).stream()
        .filter(l -> l.startsWith("WARNING") && !l.equals("WARNING: Using incubator modules: jdk.incubator.vector"))
        .toList();
  }
}
