package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JDK-only certificate authority of {@code --secure}: what it issues passes the JDK's PKIX checks. */
class LocalCaTest {
  private static final SecureRandom RANDOM = new SecureRandom();

  private static X509Certificate parse(String pem) throws Exception {
    return (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
  }

  private static void validate(X509Certificate leaf, X509Certificate ca) throws Exception {
    var path = CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf));
    PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(ca, null)));
    params.setRevocationEnabled(false);
    CertPathValidator.getInstance("PKIX").validate(path, params);
  }

  @Test
  void derEncodesLengthsAndObjectIdentifiers() {
    assertEquals("0603550403", HexFormat.of().formatHex(LocalCa.oid("2.5.4.3")));
    assertEquals("06082a8648ce3d040302", HexFormat.of().formatHex(LocalCa.oid("1.2.840.10045.4.3.2")));
    assertEquals("047f", HexFormat.of().formatHex(LocalCa.der(0x04, new byte[127])).substring(0, 4));
    assertEquals("048180", HexFormat.of().formatHex(LocalCa.der(0x04, new byte[128])).substring(0, 6));
    assertEquals("04820100", HexFormat.of().formatHex(LocalCa.der(0x04, new byte[256])).substring(0, 8));
  }

  @Test
  void issuesAServerAndAClientCertificateThatChainToTheCa() throws Exception {
    LocalCa ca = new LocalCa("test", RANDOM);
    X509Certificate caCert = parse(ca.caPem());
    caCert.verify(caCert.getPublicKey());
    assertEquals(Integer.MAX_VALUE, caCert.getBasicConstraints(), "the CA is a CA");

    LocalCa.Issued server = ca.issueServer("gradflow server", List.of("localhost"),
        List.of(InetAddress.getByName("127.0.0.1"), InetAddress.getByName("::1")));
    X509Certificate serverCert = parse(server.certificatePem());
    validate(serverCert, caCert);
    assertEquals(3, serverCert.getVersion());
    assertEquals(-1, serverCert.getBasicConstraints(), "a leaf is no CA");
    // server and client authentication: the coordinator of sharded servers shows it to the followers
    assertEquals(List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"), serverCert.getExtendedKeyUsage());
    var sans = serverCert.getSubjectAlternativeNames().stream().map(l -> l.get(0) + "=" + l.get(1)).toList();
    assertEquals(List.of("2=localhost", "7=127.0.0.1", "7=0:0:0:0:0:0:0:1"), sans);
    assertEquals(caCert.getSubjectX500Principal(), serverCert.getIssuerX500Principal());

    X509Certificate clientCert = parse(ca.issueClient("gradflow worker").certificatePem());
    validate(clientCert, caCert);
    assertTrue(clientCert.getExtendedKeyUsage().contains("1.3.6.1.5.5.7.3.2"));
    assertTrue(!serverCert.getSerialNumber().equals(clientCert.getSerialNumber()));

    LocalCa other = new LocalCa("other", RANDOM);
    assertThrows(CertPathValidatorException.class, () -> validate(serverCert, parse(other.caPem())));
  }

  @Test
  void secureJobFilesAreOwnerOnlyAndReadable(@TempDir Path tmp) throws Exception {
    SecureJobFiles files = SecureJobFiles.create(tmp.resolve("secure"));
    assertEquals("rwx------", perms(files.dir()));
    assertEquals("rw-------", perms(files.serverKey()));
    assertEquals("rw-------", perms(files.clientKey()));
    assertEquals("rw-------", perms(files.token()));
    String token = JobSecurity.readToken(files.token(), w -> { throw new AssertionError(w); });
    assertTrue(token.matches("[0-9a-f]{64}"), token);
    JobSecurity.checkKeyPair("--tls-cert", files.serverCert(), "--tls-key", files.serverKey());
    JobSecurity.checkKeyPair("--tls-cert", files.clientCert(), "--tls-key", files.clientKey());
    validate(JobSecurity.readCertificates("c", files.serverCert()).get(0), JobSecurity.readCertificates("c", files.ca()).get(0));
    // run again over the same directory: fresh files, still owner-only
    SecureJobFiles again = SecureJobFiles.create(tmp.resolve("secure"));
    assertTrue(!Files.readString(again.token()).equals(token + "\n"));
    assertEquals("rw-------", perms(again.serverKey()));
  }

  @Test
  void opensslAgreesWhereItIsInstalled(@TempDir Path tmp) throws Exception {
    Prerequisites.need(
        Files.isExecutable(Path.of("/usr/bin/openssl")), "openssl is not installed: the JDK checks above suffice");
    SecureJobFiles files = SecureJobFiles.create(tmp.resolve("secure"));
    // the server's certificate serves, and authenticates the coordinator of sharded servers as a client
    for (var check : List.of(Map.entry(files.serverCert(), "sslserver"), Map.entry(files.serverCert(), "sslclient"),
        Map.entry(files.clientCert(), "sslclient"))) {
      Path leaf = check.getKey();
      String purpose = check.getValue();
      Process p = new ProcessBuilder("/usr/bin/openssl", "verify", "-x509_strict", "-purpose", purpose,
              "-CAfile", files.ca().toString(), leaf.toString())
          .redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(0, p.waitFor(), out);
      assertTrue(out.contains(": OK"), out);
    }
  }

  private static String perms(Path p) throws Exception {
    return java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
  }
}
