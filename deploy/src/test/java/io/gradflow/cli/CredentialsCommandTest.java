package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gradflow credentials}: a job's TLS files and token for the servers' hosts, and its mistakes. */
class CredentialsCommandTest {
  @TempDir Path tmp;

  @Test
  void theServerCertificateNamesTheHostsGivenAndTheFlagsArePrinted() throws Exception {
    Path dir = tmp.resolve("job-secure");
    String out = Jobs.runExpecting(0, "credentials", "--out", dir.toString(), "--host", "node-1.cluster", "--host", "10.0.0.7",
        "--host", "fe80::1").out();
    SecureJobFiles files = new SecureJobFiles(dir);
    X509Certificate server = JobSecurity.readCertificates("server.pem", files.serverCert()).get(0);
    X509Certificate ca = JobSecurity.readCertificates("ca.pem", files.ca()).get(0);
    server.verify(ca.getPublicKey());
    List<String> names = server.getSubjectAlternativeNames().stream().map(n -> String.valueOf(n.get(1))).toList();
    assertEquals(List.of("localhost", "node-1.cluster", "127.0.0.1", "0:0:0:0:0:0:0:1", "10.0.0.7", "fe80:0:0:0:0:0:0:1"), names);
    JobSecurity.checkKeyPair("--tls-cert", files.serverCert(), "--tls-key", files.serverKey());
    JobSecurity.checkKeyPair("--tls-cert", files.clientCert(), "--tls-key", files.clientKey());
    JobSecurity.checkClientAuthentication("--tls-cert", files.serverCert());
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
    for (Path secret : List.of(files.serverKey(), files.clientKey(), files.token())) {
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(secret)), secret.toString());
    }
    assertTrue(out.contains("server flags: " + ShellWords.join(files.serverArgs())), out);
    assertTrue(out.contains("worker flags: " + ShellWords.join(files.workerArgs())), out);
  }

  @Test
  void aBadHostOrAnOutThatIsAFileIsRefusedInOneLine() throws Exception {
    for (String bad : List.of("bad host", "-node", "node_1", "1:2:zz::")) {
      String err = Jobs.runExpecting(2, "credentials", "--out", tmp.resolve("x").toString(), "--host", bad).err();
      assertTrue(err.startsWith("gradflow credentials: --host '" + bad + "': expected a host name"), err);
    }
    assertTrue(!Files.exists(tmp.resolve("x")), "nothing made for a refused host");
    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    String err = Jobs.runExpecting(9, "credentials", "--out", file.toString()).err();
    assertEquals("gradflow credentials: cannot write --out " + file + ": exists and is not a directory", err.strip());
  }
}
