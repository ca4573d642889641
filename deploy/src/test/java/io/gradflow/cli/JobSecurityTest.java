package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Token and PEM files: bad ones end the command with one line naming the file and exit 8. */
class JobSecurityTest {
  @TempDir Path tmp;
  private SecureJobFiles files;

  @BeforeEach
  void makeFiles() {
    files = SecureJobFiles.create(tmp.resolve("secure"));
  }

  private Path file(String name, String content, String perms) throws Exception {
    Path p = tmp.resolve(name);
    Files.writeString(p, content);
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(perms));
    return p;
  }

  private static String failure(Runnable r) {
    CommandFailure f = assertThrows(CommandFailure.class, r::run);
    assertEquals(ExitCode.SECURITY, f.exitCode());
    assertTrue(!f.getMessage().contains("\n"), f.getMessage());
    return f.getMessage();
  }

  @Test
  void aTokenIsTrimmedAndAGroupReadableFileWarned() throws Exception {
    List<String> warnings = new ArrayList<>();
    assertEquals("s3cret-token", JobSecurity.readToken(file("t1", "  s3cret-token \n\n", "rw-------"), warnings::add));
    assertTrue(warnings.isEmpty(), warnings.toString());
    Path shared = file("t2", "s3cret-token\n", "rw-r--r--");
    assertEquals("s3cret-token", JobSecurity.readToken(shared, warnings::add));
    assertEquals(List.of("WARNING: token file " + shared + " can be read by group or others (chmod 600 " + shared + ")"), warnings);
  }

  @Test
  void anEmptyMissingOrUnprintableTokenFileIsRefusedByName() throws Exception {
    Path empty = file("empty", " \n\t\n", "rw-------");
    assertEquals("--token-file " + empty + ": the file is empty", failure(() -> JobSecurity.readToken(empty, w -> {})));
    Path missing = tmp.resolve("nope");
    assertEquals("--token-file " + missing + ": cannot read it (no such file)", failure(() -> JobSecurity.readToken(missing, w -> {})));
    Path spaced = file("spaced", "two words\n", "rw-------");
    assertTrue(failure(() -> JobSecurity.readToken(spaced, w -> {})).startsWith("--token-file " + spaced + ": the job token may hold only printable ASCII"));
    Path utf8 = file("utf8", "caf\u00e9\n", "rw-------");
    assertTrue(failure(() -> JobSecurity.readToken(utf8, w -> {})).contains("character 4 is not"));
  }

  @Test
  void badPemFilesAreRefusedByName() throws Exception {
    Path garbage = file("garbage.pem", "hello\n", "rw-------");
    assertTrue(failure(() -> JobSecurity.readCertificates("--tls-ca", garbage)).startsWith("--tls-ca " + garbage + ": "));
    Path missing = tmp.resolve("missing.pem");
    assertEquals("--tls-cert " + missing + ": cannot read it (no such file)",
        failure(() -> JobSecurity.serverCredentials(missing, files.serverKey(), null)));
    assertEquals("--tls-key " + garbage + ": no private key in it (expected -----BEGIN PRIVATE KEY-----)",
        failure(() -> JobSecurity.serverCredentials(files.serverCert(), garbage, null)));
    assertEquals("--tls-key " + files.clientKey() + ": not the private key of the certificate in " + files.serverCert(),
        failure(() -> JobSecurity.serverCredentials(files.serverCert(), files.clientKey(), null)));
    Path pkcs1 = file("rsa.key", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", "rw-------");
    assertTrue(failure(() -> JobSecurity.readPrivateKey("--tls-key", pkcs1)).contains("openssl pkcs8 -topk8 -nocrypt"));
    Path encrypted = file("enc.key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "rw-------");
    assertTrue(failure(() -> JobSecurity.readPrivateKey("--tls-key", encrypted)).contains("the key is encrypted"));
    assertTrue(failure(() -> JobSecurity.channelCredentials(garbage, null, null)).startsWith("--tls-ca " + garbage));
  }

  private static String[] run(int expectedCode, String... args) {
    Jobs.Run r = Jobs.runExpecting(expectedCode, args);
    return new String[] {r.out(), r.err()};
  }

  @Test
  void theServerCommandRefusesBadSecurityFilesBeforeLoadingAnything() throws Exception {
    Path garbage = file("garbage.pem", "hello\n", "rw-------");
    String err = run(8, "server", "--dataset", "spirals", "--port", "0",
        "--tls-cert", files.serverCert().toString(), "--tls-key", garbage.toString())[1];
    assertEquals("gradflow server: --tls-key " + garbage + ": no private key in it (expected -----BEGIN PRIVATE KEY-----)", err.strip());
    Path empty = file("empty", "\n", "rw-------");
    err = run(8, "server", "--dataset", "spirals", "--port", "0", "--token-file", empty.toString())[1];
    assertEquals("gradflow server: --token-file " + empty + ": the file is empty", err.strip());
  }

  @Test
  void halfATlsConfigurationIsAUsageError() {
    assertTrue(run(2, "server", "--tls-cert", files.serverCert().toString())[1].contains("--tls-cert and --tls-key go together"));
    assertTrue(run(2, "server", "--tls-ca", files.ca().toString())[1].contains("--tls-ca (mutual TLS) needs --tls-cert and --tls-key"));
    assertTrue(run(2, "worker", "--server", "127.0.0.1:1", "--tls-cert", files.clientCert().toString(),
        "--tls-key", files.clientKey().toString())[1].contains("--tls-cert needs --tls-ca"));
    assertTrue(run(2, "worker", "--server", "127.0.0.1:1", "--tls-server-name", "x")[1].contains("--tls-server-name needs --tls-ca"));
    assertTrue(run(2, "train", "--workers", "0", "--secure", "--dataset", "spirals")[1].contains("--secure needs worker processes"));
  }

  /**
   * Sharded servers that serve TLS: the coordinator needs the CA of the followers' certificates,
   * dials them over TCP (a Unix socket carries no TLS) and, under mutual TLS, shows them a
   * certificate that allows client authentication; --range-server-ca is the coordinator's alone.
   * Each is refused before any data loads; so is a --hosts job with --secure whose server host
   * cannot be named in a certificate.
   */
  @Test
  void shardedServersWithTlsAreCheckedBeforeLoadingAnything() throws Exception {
    List<String> tls = List.of("--tls-cert", files.serverCert().toString(), "--tls-key", files.serverKey().toString());
    List<String> coordinator = new ArrayList<>(List.of("server", "--dataset", "spirals", "--port", "0", "--servers", "2",
        "--range-server", "127.0.0.1:1"));
    coordinator.addAll(tls);
    assertTrue(run(2, coordinator.toArray(String[]::new))[1].contains(
        "--servers 2 with --tls-cert: the coordinator reads its followers over TLS and needs the CA that signed their certificates"));

    List<String> unix = new ArrayList<>(List.of("server", "--dataset", "spirals", "--port", "0", "--servers", "2",
        "--range-server", "unix:/tmp/follower.sock", "--tls-ca", files.ca().toString()));
    unix.addAll(tls);
    assertTrue(run(2, unix.toArray(String[]::new))[1].contains(
        "--range-server unix:/tmp/follower.sock: a Unix domain socket carries no TLS"));

    List<String> follower = new ArrayList<>(List.of("server", "--dataset", "spirals", "--port", "0", "--servers", "2",
        "--server-index", "1", "--range-server-ca", files.ca().toString()));
    follower.addAll(tls);
    assertTrue(run(2, follower.toArray(String[]::new))[1].contains("--range-server-ca is for the coordinator of sharded servers"));

    // a server certificate for server authentication only, under mutual TLS
    LocalCa ca = new LocalCa("test", new java.security.SecureRandom());
    LocalCa.Issued serverOnly = ca.issue("gradflow server", List.of("1.3.6.1.5.5.7.3.1"));
    Path cert = file("server-only.pem", serverOnly.certificatePem(), "rw-------");
    Path key = file("server-only.key", serverOnly.privateKeyPem(), "rw-------");
    Path caPem = file("ca.pem", ca.caPem(), "rw-------");
    String err = run(8, "server", "--dataset", "spirals", "--port", "0", "--servers", "2", "--range-server", "127.0.0.1:1",
        "--tls-cert", cert.toString(), "--tls-key", key.toString(), "--tls-ca", caPem.toString())[1];
    assertEquals("gradflow server: --tls-cert " + cert + ": the certificate is not for client authentication (its extended "
        + "key usage lacks clientAuth), and the coordinator shows it to the followers; issue it with extendedKeyUsage = "
        + "serverAuth, clientAuth", err.strip());
    JobSecurity.checkClientAuthentication("--tls-cert", files.serverCert()); // --secure's server certificate: both usages

    assertTrue(run(2, "train", "--hosts", file("hosts", "localhost\n", "rw-------").toString(), "--secure", "--dataset", "spirals",
        "--remote-jar", "/shared/gradflow.jar", "--server-host", "bad_host")[1].contains("--secure: the server host 'bad_host': expected a host name"));
  }

  @Test
  void aCoordinatorsTlsFailureWithAFollowerNamesTheFlagToLookAt() {
    String why = "cannot seed server 1: UNAVAILABLE: io exception; TLS handshake failed: ";
    assertTrue(ServerSecurityOptions.explainedFollowerFailure(why + "unable to find valid certification path to requested target")
        .endsWith("(the follower's certificate is not signed by --range-server-ca, or --tls-ca)"));
    assertTrue(ServerSecurityOptions.explainedFollowerFailure(why + "No subject alternative names matching IP address 10.0.0.2 found")
        .endsWith("(the follower's certificate does not name the host of its --range-server address)"));
    assertTrue(ServerSecurityOptions.explainedFollowerFailure(why + "error:1000045c:SSL routines:OPENSSL_internal:TLSV1_ALERT_CERTIFICATE_REQUIRED")
        .endsWith("(the follower wants a client certificate: with --tls-ca the coordinator shows its --tls-cert)"));
    assertEquals("cannot seed server 1: UNAVAILABLE: io exception", ServerSecurityOptions.explainedFollowerFailure(
        "cannot seed server 1: UNAVAILABLE: io exception"));
  }

  @Test
  void theServerWarnsBeyondLoopbackWithoutTlsAndWithoutAToken() {
    assertEquals(List.of(), ServerSecurityOptions.warnings("127.0.0.1:7070", true, false, true));
    assertEquals(List.of(), ServerSecurityOptions.warnings("0.0.0.0:7070", false, true, true));
    List<String> both = ServerSecurityOptions.warnings("0.0.0.0:7070", false, false, false);
    assertEquals(2, both.size());
    assertTrue(both.get(0).startsWith("WARNING: listening on 0.0.0.0:7070 beyond loopback without TLS"), both.get(0));
    assertTrue(both.get(1).startsWith("WARNING: no --token-file"), both.get(1));
    assertEquals(1, ServerSecurityOptions.warnings("127.0.0.1:7070", true, false, false).size());
    assertTrue(JobSecurity.isLoopback("127.0.0.1"));
    assertTrue(JobSecurity.isLoopback("127.3.4.5"));
    assertTrue(JobSecurity.isLoopback("::1"));
    assertTrue(JobSecurity.isLoopback("localhost"));
    assertTrue(!JobSecurity.isLoopback("0.0.0.0"));
    assertTrue(!JobSecurity.isLoopback("::"));
    assertTrue(!JobSecurity.isLoopback("10.1.2.3"));
  }
}
