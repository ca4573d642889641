package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The network test bed of {@code deploy/netns-bed.sh} for tests: S server and N worker network
 * namespaces on a bridge, tbf-limited links, and a sharded job started by hand on them, run with
 * this JVM's class path. {@link #close} deletes the namespaces.
 */
final class NetnsBed implements AutoCloseable {
  private final Path script;
  private final Path gradflow;
  private final String name = "gfb" + ProcessHandle.current().pid();
  private boolean up;

  /** The result of a command: its exit status and its stdout and stderr together. */
  record Result(int code, String out) {}

  private NetnsBed(Path script, Path gradflow) {
    this.script = script;
    this.gradflow = gradflow;
  }

  /**
   * A bed whose gradflow command is a wrapper in {@code tmp} around this JVM's program; skips the
   * test (fails it under CI=true) without root, iproute2 or the right to create namespaces.
   */
  static NetnsBed create(Path tmp) throws IOException, InterruptedException {
    Result uid = exec(List.of("id", "-u"), 15);
    Prerequisites.need(uid.code() == 0 && uid.out().equals("0"), "the netns test bed needs root (CI runs as root); uid: " + uid.out());
    Result ip = exec(List.of("sh", "-c", "ip -V && tc -V"), 15);
    Prerequisites.need(ip.code() == 0, "the netns test bed needs `ip` and `tc` (Debian package iproute2): " + ip.out());
    String probe = "gfprobe" + ProcessHandle.current().pid();
    Result add = exec(List.of("ip", "netns", "add", probe), 15);
    if (add.code() == 0) {
      exec(List.of("ip", "netns", "del", probe), 15);
    }
    Prerequisites.need(add.code() == 0, "this sandbox forbids network namespaces: ip netns add -> " + add.out());
    Path script = Path.of("netns-bed.sh").toAbsolutePath();
    if (!Files.exists(script)) {
      script = Path.of("deploy", "netns-bed.sh").toAbsolutePath(); // run from the repository root
    }
    Path wrapper = tmp.resolve("gradflow");
    String command = JvmCommand.thisProgram().stream().map(NetnsBed::quote).collect(Collectors.joining(" "));
    Files.writeString(wrapper, "#!/bin/sh\nexec " + command + " \"$@\"\n", StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
    return new NetnsBed(script, wrapper);
  }

  /** Creates {@code servers} server hosts and {@code workers} worker hosts, each link limited to {@code rate} (tc's syntax). */
  void up(int servers, int workers, String rate) throws IOException, InterruptedException {
    up = true;
    Result r = bed(List.of("up", name, Integer.toString(servers), Integer.toString(workers), rate), 60);
    assertEquals(0, r.code(), () -> "netns-bed.sh up -> " + r.out());
  }

  /** Runs a job with {@code servers} sharded servers and {@code workers} workers on the bed; its outputs go to {@code out}. */
  Result job(int servers, int workers, Path out, List<String> trainOptions, int timeoutSeconds)
      throws IOException, InterruptedException {
    List<String> args = new ArrayList<>(List.of("job", name, Integer.toString(servers), Integer.toString(workers), out.toString()));
    args.addAll(trainOptions);
    return bed(args, timeoutSeconds);
  }

  @Override
  public void close() throws IOException, InterruptedException {
    if (up) {
      Result r = bed(List.of("down", name), 60);
      if (r.code() != 0) {
        System.err.println("NetnsBed: could not delete the namespaces " + name + "-*: " + r.out());
      }
    }
  }

  private Result bed(List<String> args, int timeoutSeconds) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("bash", script.toString()));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("GRADFLOW", gradflow.toString());
    pb.environment().put("GRADFLOW_PROGRESS", "plain");
    return exec(pb, timeoutSeconds);
  }

  private static Result exec(List<String> cmd, int timeoutSeconds) throws IOException, InterruptedException {
    try {
      return exec(new ProcessBuilder(cmd), timeoutSeconds);
    } catch (IOException e) {
      return new Result(-1, String.join(" ", cmd) + ": " + e.getMessage());
    }
  }

  private static Result exec(ProcessBuilder pb, int timeoutSeconds) throws IOException, InterruptedException {
    Path log = Files.createTempFile("netns-bed-", ".log");
    try {
      Process p = pb.redirectErrorStream(true).redirectOutput(log.toFile()).start();
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        return new Result(-1, String.join(" ", pb.command()) + ": timed out after " + timeoutSeconds + " s\n" + Files.readString(log));
      }
      return new Result(p.exitValue(), Files.readString(log).strip());
    } finally {
      Files.deleteIfExists(log);
    }
  }

  /** {@code s} single-quoted for sh. */
  private static String quote(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }
}
