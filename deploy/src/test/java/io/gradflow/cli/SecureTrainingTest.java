package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.data.SyntheticData;
import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.train.LocalTrainer;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.train.TrainingListener;
import io.gradflow.proto.JoinRequest;
import io.gradflow.proto.ParameterServerGrpc;
import io.gradflow.ps.ParameterServer;
import io.gradflow.ps.ServerJob;
import io.gradflow.ps.TokenAuthInterceptor;
import io.gradflow.worker.TokenCredentials;
import io.gradflow.worker.Worker;
import io.grpc.ChannelCredentials;
import io.grpc.CompositeChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A parameter server on a real Netty socket (127.0.0.1, ephemeral port) with TLS, mutual TLS and
 * the job token, as {@code gradflow train --secure} runs it: real workers train to the
 * single-process weights; a client without the token, with a wrong one, without a client
 * certificate, or that does not trust the CA gets nothing.
 */
class SecureTrainingTest {
  private static final TrainTestSplit DATA = SyntheticData.spirals(3, 200, 0.2, 42);
  private final ModelSpec spec = ModelSpec.parse("2-16-16-3", "tanh", "", 5);
  private final TrainingConfig config =
      new TrainingConfig("spirals", 30, 6, 0.1, 0.9, 1e-4, LearningRateSchedule.Kind.COSINE, 3, 0, 0.1, 2, 25, 9, "ejml");
  private final List<AutoCloseable> closers = new ArrayList<>();
  private final List<String> serverLog = new CopyOnWriteArrayList<>();

  @TempDir Path tmp;
  private SecureJobFiles files;
  private String token;
  private ParameterServer server;

  @BeforeEach
  void startServer() throws Exception {
    files = SecureJobFiles.create(tmp.resolve("secure"));
    token = Files.readString(files.token()).strip();
    NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0),
            JobSecurity.serverCredentials(files.serverCert(), files.serverKey(), files.ca()))
        .intercept(new TokenAuthInterceptor(token, serverLog::add));
    server = new ParameterServer(builder, new ServerJob(Network.initialize(spec), config, DATA, 2), new TrainingListener() {});
    server.start();
    closers.add(server::stop);
  }

  @AfterEach
  void close() throws Exception {
    for (int i = closers.size() - 1; i >= 0; i--) {
      closers.get(i).close();
    }
  }

  private ManagedChannel channel(ChannelCredentials transport, String withToken) {
    ChannelCredentials creds = withToken == null ? transport : CompositeChannelCredentials.create(transport, new TokenCredentials(withToken));
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.port(), creds).build();
    closers.add(() -> {
      ch.shutdownNow();
      ch.awaitTermination(5, TimeUnit.SECONDS);
    });
    return ch;
  }

  private ManagedChannel mutualTlsChannel(String withToken) {
    return channel(JobSecurity.channelCredentials(files.ca(), files.clientCert(), files.clientKey()), withToken);
  }

  private static StatusRuntimeException join(ManagedChannel ch) {
    return assertThrows(StatusRuntimeException.class,
        () -> ParameterServerGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS)
            .join(JoinRequest.newBuilder().setWorkerName("intruder").build()));
  }

  @Test
  void twoWorkersOverMutualTlsWithTheTokenTrainToTheSingleProcessWeights() throws Exception {
    Network reference = Network.initialize(spec);
    new LocalTrainer(reference, config, DATA).run(new TrainingListener() {});

    ExecutorService pool = Executors.newFixedThreadPool(2);
    closers.add(pool::shutdownNow);
    List<Future<Worker.Result>> results = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      Worker w = new Worker(mutualTlsChannel(token), new Worker.Options("w" + i, JoinRequest.getDefaultInstance(),
          c -> DATA.train(), Duration.ofSeconds(30), () -> 0, line -> {}));
      results.add(pool.submit(w::run));
    }
    for (Future<Worker.Result> r : results) {
      r.get(120, TimeUnit.SECONDS);
    }
    assertEquals(null, server.awaitJob(1000));
    assertTrue(server.coordinator().isFinished());
    assertEquals(reference.sha256(), server.coordinator().networkSha256());
    assertTrue(serverLog.isEmpty(), serverLog.toString());
  }

  @Test
  void aClientWithoutTheTokenIsRefusedAndLoggedWithItsAddress() {
    StatusRuntimeException e = join(mutualTlsChannel(null));
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
    assertEquals("missing or wrong job token", e.getStatus().getDescription());
    assertEquals(1, serverLog.size(), serverLog.toString());
    assertTrue(serverLog.get(0).matches("refused gradflow\\.v1\\.ParameterServer/Join from /127\\.0\\.0\\.1:\\d+: no job token.*"),
        serverLog.get(0));
  }

  @Test
  void aClientWithAWrongTokenIsRefused() {
    StatusRuntimeException e = join(mutualTlsChannel("f".repeat(64)));
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
    assertTrue(serverLog.get(0).contains("wrong job token"), serverLog.toString());
  }

  @Test
  void aClientThatDoesNotTrustTheCaCannotConnect() {
    SecureJobFiles other = SecureJobFiles.create(tmp.resolve("other"));
    StatusRuntimeException e = join(channel(JobSecurity.channelCredentials(other.ca(), other.clientCert(), other.clientKey()), token));
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
  }

  @Test
  void aClientWithoutAClientCertificateIsRefusedUnderMutualTls() {
    StatusRuntimeException e = join(channel(JobSecurity.channelCredentials(files.ca(), null, null), token));
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
  }

  @Test
  void aClientCertificateFromAnotherCaIsRefused() throws Exception {
    SecureJobFiles other = SecureJobFiles.create(tmp.resolve("other"));
    StatusRuntimeException e = join(channel(JobSecurity.channelCredentials(files.ca(), other.clientCert(), other.clientKey()), token));
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
  }

  @Test
  void aPlaintextClientGetsNothing() {
    StatusRuntimeException e = join(channel(io.grpc.InsecureChannelCredentials.create(), token));
    assertTrue(e.getStatus().getCode() == Status.Code.UNAVAILABLE || e.getStatus().getCode() == Status.Code.INTERNAL,
        e.getStatus().toString());
  }

  @Test
  void theWorkerCommandWithAWrongTokenExitsRefusedInOneLine() throws Exception {
    Path wrong = tmp.resolve("wrong-token");
    Files.writeString(wrong, "not-the-token\n");
    Files.setPosixFilePermissions(wrong, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    StringWriter err = new StringWriter();
    int code = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true),
        "worker", "--server", "127.0.0.1:" + server.port(), "--name", "intruder", "--rpc-timeout", "20",
        "--tls-ca", files.ca().toString(), "--tls-cert", files.clientCert().toString(),
        "--tls-key", files.clientKey().toString(), "--token-file", wrong.toString());
    assertEquals(ExitCode.REFUSED.code(), code, err.toString());
    assertEquals(1, err.toString().strip().lines().count(), err.toString());
    assertTrue(err.toString().contains("missing or wrong job token"), err.toString());
  }

  @Test
  void theWorkerCommandThatDoesNotTrustTheServerSaysWhy() throws Exception {
    SecureJobFiles other = SecureJobFiles.create(tmp.resolve("other"));
    assertHandshakeFailsInOneLine("not signed by --tls-ca", "127.0.0.1:" + server.port(), "--tls-ca", other.ca().toString(),
        "--tls-cert", files.clientCert().toString(), "--tls-key", files.clientKey().toString());
  }

  /** The server's certificate names 127.0.0.1, ::1 and localhost: dialled as 127.0.0.2, the name is wrong. */
  @Test
  void theWorkerCommandThatDialsANameTheCertificateLacksSaysWhy() throws Exception {
    ParameterServer elsewhere = new ParameterServer(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.2", 0),
            JobSecurity.serverCredentials(files.serverCert(), files.serverKey(), files.ca()))
        .intercept(new TokenAuthInterceptor(token, serverLog::add)), new ServerJob(Network.initialize(spec), config, DATA, 2),
        new TrainingListener() {});
    elsewhere.start();
    closers.add(elsewhere::stop);
    assertHandshakeFailsInOneLine("No subject alternative names matching IP address 127.0.0.2", "127.0.0.2:" + elsewhere.port(),
        "--tls-ca", files.ca().toString(),
        "--tls-cert", files.clientCert().toString(), "--tls-key", files.clientKey().toString());
  }

  @Test
  void theWorkerCommandWithoutAClientCertificateUnderMutualTlsSaysWhy() throws Exception {
    assertHandshakeFailsInOneLine("the server wants a client certificate: --tls-cert and --tls-key", "127.0.0.1:" + server.port(),
        "--tls-ca", files.ca().toString());
  }

  @Test
  void aTlsWorkerCommandAgainstAPlaintextServerSaysWhy() throws Exception {
    ParameterServer plaintext = new ParameterServer(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)),
        new ServerJob(Network.initialize(spec), config, DATA, 2), new TrainingListener() {});
    plaintext.start();
    closers.add(plaintext::stop);
    assertHandshakeFailsInOneLine("the server answered without TLS", "127.0.0.1:" + plaintext.port(),
        "--tls-ca", files.ca().toString(),
        "--tls-cert", files.clientCert().toString(), "--tls-key", files.clientKey().toString());
  }

  /** {@code gradflow worker} with the job's token and {@code tls} against {@code address}: exit 6, one line that says {@code why}. */
  private void assertHandshakeFailsInOneLine(String why, String address, String... tls) {
    List<String> args = new ArrayList<>(List.of("worker", "--server", address, "--rpc-timeout", "20", "--reconnect-seconds", "1",
        "--token-file", files.token().toString()));
    args.addAll(List.of(tls));
    StringWriter err = new StringWriter();
    int code = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true), args.toArray(String[]::new));
    assertEquals(ExitCode.UNAVAILABLE.code(), code, err.toString());
    assertEquals(1, err.toString().strip().lines().count(), err.toString());
    assertTrue(err.toString().contains("TLS handshake failed: ") && err.toString().contains(why), err.toString());
  }
}
