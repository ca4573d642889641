package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.proto.JoinRequest;
import io.gradflow.proto.ParameterServerGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.gradflow.common.report.RunSummary;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Real JVMs: a {@code --secure} job end to end, and an unauthenticated client against a real server. */
class SecureJobIT {
  private static final String[] JOB = {
    "--dataset", "spirals", "--model", "2-16-16-3", "--activation", "tanh",
    "--batch", "60", "--micro-shards", "6", "--max-steps", "20"
  };

  @TempDir Path tmp;

  private static String[] args(String[] head, String... tail) {
    List<String> all = new ArrayList<>(List.of(head));
    all.addAll(List.of(JOB));
    all.addAll(List.of(tail));
    return all.toArray(String[]::new);
  }

  private static int run(StringWriter err, String... args) {
    return run(new StringWriter(), err, args);
  }

  private static int run(StringWriter out, StringWriter err, String... args) {
    return Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
  }

  private static String weightsSha256(Path dir) throws Exception {
    return RunSummary.read(RunSummary.file(dir)).weightsSha256();
  }

  @Test
  void aSecureLocalJobRunsWithMutualTlsAndATokenAndGivesTheSingleProcessWeights() throws Exception {
    Path dir = tmp.resolve("secure-job");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(0, run(out, err, args(new String[] {"train", "--workers", "2", "--secure"}, "--out", dir.toString())),
        err.toString());
    // what the server negotiated with its workers, not only what it was configured with
    assertTrue(Pattern.compile("(?m)^TLS: TLSv1\\.[23] \\S+, client certificate CN=gradflow worker").matcher(out.toString()).find(),
        out.toString());
    assertEquals(20L, RunSummary.read(RunSummary.file(dir)).steps(), "the job ran its steps");

    Path secure = dir.resolve("secure");
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(secure)));
    for (String secret : List.of("server.key", "client.key", "token")) {
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(secure.resolve(secret))), secret);
    }
    String serverLog = Files.readString(dir.resolve("logs/server.log"));
    assertFalse(serverLog.contains("gradflow server: WARNING"), serverLog);
    assertFalse(serverLog.contains("refused"), serverLog);

    Path plain = tmp.resolve("single-process");
    assertEquals(0, run(err, args(new String[] {"train", "--workers", "0"}, "--out", plain.toString())), err.toString());
    assertEquals(weightsSha256(plain), weightsSha256(dir));
  }

  /**
   * {@code train --secure --servers 2}: the follower serves the job's TLS and token as the
   * coordinator does, and the coordinator calls it with its own certificate (mutual TLS) and the
   * token; the job gives the single process's weights.
   */
  @Test
  void aSecureShardedJobRunsEveryServerWithMutualTlsAndTheToken() throws Exception {
    Path dir = tmp.resolve("secure-sharded");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(0, run(out, err, args(new String[] {"train", "--workers", "2", "--servers", "2", "--secure"}, "--out", dir.toString())),
        err.toString());
    assertTrue(Pattern.compile("(?m)^TLS: TLSv1\\.[23] \\S+, client certificate CN=gradflow worker").matcher(out.toString()).find(),
        out.toString());
    String followerLog = Files.readString(dir.resolve("logs/server-1.log"));
    // its first call is the coordinator's seed: negotiated with the coordinator's certificate
    assertTrue(Pattern.compile("(?m)^gradflow server: TLS: TLSv1\\.[23] \\S+, client certificate CN=gradflow server")
        .matcher(followerLog).find(), followerLog);
    assertFalse(followerLog.contains("gradflow server: WARNING"), "a follower with TLS and a token: " + followerLog);
    assertFalse(followerLog.contains("refused"), followerLog);
    assertEquals(20L, RunSummary.read(RunSummary.file(dir)).steps(), "the job ran its steps");

    Path plain = tmp.resolve("single-process");
    assertEquals(0, run(err, args(new String[] {"train", "--workers", "0"}, "--out", plain.toString())), err.toString());
    assertEquals(weightsSha256(plain), weightsSha256(dir));
  }

  /**
   * A follower with TLS and the token refuses a coordinator with a wrong token (exit 7), and a
   * coordinator that trusts another CA fails the handshake (exit 6) at once, not after the minute
   * an unreachable follower gets: each says why in its last line; the follower goes on.
   */
  @Test
  @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a follower that took the seed leaves the coordinator waiting for workers
  void aSecureFollowerRefusesACoordinatorWithAWrongTokenOrAnotherCa() throws Exception {
    SecureJobFiles files = SecureJobFiles.create(tmp.resolve("secure"));
    Path log = tmp.resolve("follower.log");
    List<String> followerArgs = new ArrayList<>(files.serverArgs());
    followerArgs.addAll(List.of("--servers", "2", "--server-index", "1"));
    Process follower = startServer(log, followerArgs);
    try {
      String[] coordinator = {"server", "--workers", "1", "--bind", "127.0.0.1", "--port", "0", "--servers", "2",
        "--range-server", "127.0.0.1:" + port()};
      Path wrong = tmp.resolve("wrong.token");
      Files.writeString(wrong, "not-the-job-token\n");
      Files.setPosixFilePermissions(wrong, PosixFilePermissions.fromString("rw-------"));
      StringWriter err = new StringWriter();
      int code = run(err, args(coordinator, "--out", tmp.resolve("c1").toString(), "--tls-cert", files.serverCert().toString(),
          "--tls-key", files.serverKey().toString(), "--tls-ca", files.ca().toString(), "--token-file", wrong.toString()));
      assertEquals(ExitCode.REFUSED.code(), code, err.toString());
      assertTrue(lastLine(err).endsWith("cannot seed server 1: UNAUTHENTICATED: missing or wrong job token"), err.toString());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!read(log).contains("gradflow server: refused gradflow.v1.RangeFollower/Seed from /127.0.0.1:")) {
        assertTrue(System.nanoTime() < deadline, () -> "no refusal in the follower's log: " + read(log));
        Thread.sleep(50);
      }

      SecureJobFiles other = SecureJobFiles.create(tmp.resolve("other"));
      err = new StringWriter();
      long started = System.nanoTime();
      code = run(err, args(coordinator, "--out", tmp.resolve("c2").toString(), "--tls-cert", other.serverCert().toString(),
          "--tls-key", other.serverKey().toString(), "--tls-ca", other.ca().toString(), "--token-file", files.token().toString()));
      assertEquals(ExitCode.UNAVAILABLE.code(), code, err.toString());
      assertTrue(lastLine(err).startsWith("gradflow server: cannot seed server 1: UNAVAILABLE")
          && lastLine(err).contains("; TLS handshake failed: ")
          && lastLine(err).endsWith("(the follower's certificate is not signed by --range-server-ca, or --tls-ca)"), err.toString());
      assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(45), "a failed handshake is not tried again for a minute");
      assertTrue(follower.isAlive(), "the follower goes on: " + read(log));
    } finally {
      stop(follower);
    }
  }

  private static String lastLine(StringWriter w) {
    List<String> lines = w.toString().strip().lines().toList();
    return lines.get(lines.size() - 1);
  }

  /** Starts {@code gradflow server} on 127.0.0.1 with {@code extra} and its output in {@code log}; returns it once it serves. */
  private Process startServer(Path log, List<String> extra) throws Exception {
    Path portFile = tmp.resolve("server.port");
    List<String> cmd = new ArrayList<>(JvmCommand.thisProgram());
    cmd.addAll(List.of(args(new String[] {"server", "--workers", "1", "--bind", "127.0.0.1", "--port", "0"},
        "--port-file", portFile.toString(), "--out", tmp.resolve("out").toString(),
        "--parent-pid", Long.toString(ProcessHandle.current().pid()))));
    cmd.addAll(extra);
    Process server = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!Files.exists(portFile) || Files.readString(portFile).isBlank()) {
      assertTrue(server.isAlive(), () -> "server exited: " + read(log));
      assertTrue(System.nanoTime() < deadline, () -> "server did not serve in time: " + read(log));
      Thread.sleep(50);
    }
    return server;
  }

  private int port() throws Exception {
    return Integer.parseInt(Files.readString(tmp.resolve("server.port")).strip());
  }

  private static void stop(Process server) throws InterruptedException {
    server.destroy();
    if (!server.waitFor(10, TimeUnit.SECONDS)) {
      server.destroyForcibly();
    }
  }

  /**
   * A TLS worker at a plaintext server: the worker exits 6 saying so in one line, and the server's
   * log gets no stack trace from gRPC's transport (which logs the garbled connection at INFO; see
   * {@link GrpcLogging}) and goes on.
   */
  @Test
  void aTlsWorkerAtAPlaintextServerSaysWhyAndTheServerLogsNoStackTrace() throws Exception {
    SecureJobFiles files = SecureJobFiles.create(tmp.resolve("secure"));
    Path log = tmp.resolve("server.log");
    Process server = startServer(log, List.of());
    try {
      StringWriter err = new StringWriter();
      int code = run(err, "worker", "--server", "127.0.0.1:" + port(), "--rpc-timeout", "20", "--reconnect-seconds", "1",
          "--tls-ca", files.ca().toString(), "--tls-cert", files.clientCert().toString(), "--tls-key", files.clientKey().toString());
      assertEquals(ExitCode.UNAVAILABLE.code(), code, err.toString());
      assertEquals(1, err.toString().strip().lines().count(), err.toString());
      assertTrue(err.toString().contains("the server answered without TLS"), err.toString());
      assertTrue(server.isAlive(), "the server goes on: " + read(log));
    } finally {
      stop(server);
    }
    String logged = read(log);
    assertTrue(logged.contains("gradflow server: listening on 127.0.0.1:"), logged);
    assertFalse(logged.contains("\tat ") || logged.contains("Exception") || logged.contains("Transport failed"), logged);
  }

  @Test
  void aRealServerRefusesAClientWithoutTheTokenAndLogsItsAddress() throws Exception {
    SecureJobFiles files = SecureJobFiles.create(tmp.resolve("secure"));
    Path log = tmp.resolve("server.log");
    Process server = startServer(log, files.serverArgs());
    ManagedChannel channel = null;
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      int port = port();
      channel = NettyChannelBuilder.forAddress("127.0.0.1", port,
          JobSecurity.channelCredentials(files.ca(), files.clientCert(), files.clientKey())).build();
      ManagedChannel ch = channel;
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> ParameterServerGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS)
              .join(JoinRequest.newBuilder().setWorkerName("intruder").build()));
      assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
      assertEquals("missing or wrong job token", e.getStatus().getDescription());
      String refused = "gradflow server: refused gradflow.v1.ParameterServer/Join from /127.0.0.1:";
      while (!read(log).contains(refused)) {
        assertTrue(System.nanoTime() < deadline, () -> "no refusal in the server log: " + read(log));
        Thread.sleep(50);
      }
      assertTrue(server.isAlive(), "the server goes on after a refusal");
    } finally {
      if (channel != null) {
        channel.shutdownNow();
      }
      stop(server);
    }
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (java.io.IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }
}
