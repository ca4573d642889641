package io.gradflow.cli;

import io.gradflow.common.wire.JobToken;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The security files of the server and worker commands: the job token file and the TLS PEM
 * files. Every file is read and checked here, before any network is touched, so that a bad one
 * ends the command with one line that names it and {@link ExitCode#SECURITY}; gRPC gets only
 * files that are known to parse.
 */
final class JobSecurity {
  private static final Pattern PEM_KEY =
      Pattern.compile("-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----\\s*([A-Za-z0-9+/=\\s]+?)-----END \\1PRIVATE KEY-----");

  private static final String OID_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
  private static final String OID_ANY_USAGE = "2.5.29.37.0";

  private JobSecurity() {}

  /**
   * Reads a job token: the file's content without surrounding whitespace. Warns when others than
   * the owner may read the file.
   */
  static String readToken(Path file, Consumer<String> warn) {
    String token;
    try {
      // ISO-8859-1 maps every byte to one char, so a stray non-ASCII byte is reported by checkValid
      token = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1).strip();
    } catch (IOException e) {
      throw failure("--token-file " + file + ": cannot read it (" + reason(e) + ")");
    }
    if (token.isEmpty()) {
      throw failure("--token-file " + file + ": the file is empty");
    }
    try {
      JobToken.checkValid(token);
    } catch (IllegalArgumentException e) {
      throw failure("--token-file " + file + ": " + e.getMessage());
    }
    if (readableByOthers(file)) {
      warn.accept("WARNING: token file " + file + " can be read by group or others (chmod 600 " + file + ")");
    }
    return token;
  }

  /** Plaintext without {@code cert}; TLS with it; mutual TLS when {@code ca} is given too. */
  static ServerCredentials serverCredentials(Path cert, Path key, Path ca) {
    if (cert == null) {
      return InsecureServerCredentials.create();
    }
    checkKeyPair("--tls-cert", cert, "--tls-key", key);
    TlsServerCredentials.Builder b = TlsServerCredentials.newBuilder();
    try {
      b.keyManager(cert.toFile(), key.toFile());
      if (ca != null) {
        readCertificates("--tls-ca", ca);
        b.trustManager(ca.toFile()).clientAuth(TlsServerCredentials.ClientAuth.REQUIRE);
      }
    } catch (IOException e) {
      throw failure("cannot read the TLS files: " + reason(e));
    }
    return b.build();
  }

  /** Plaintext without {@code ca}; TLS trusting {@code ca}; with a client certificate when given. */
  static ChannelCredentials channelCredentials(Path ca, Path cert, Path key) {
    if (ca == null) {
      return InsecureChannelCredentials.create();
    }
    readCertificates("--tls-ca", ca);
    TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder();
    try {
      b.trustManager(ca.toFile());
      if (cert != null) {
        checkKeyPair("--tls-cert", cert, "--tls-key", key);
        b.keyManager(cert.toFile(), key.toFile());
      }
    } catch (IOException e) {
      throw failure("cannot read the TLS files: " + reason(e));
    }
    return b.build();
  }

  /** True for 127.0.0.0/8, ::1 and names that resolve to them (localhost). */
  static boolean isLoopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException | SecurityException e) {
      return false;
    }
  }

  /** The certificates of a PEM file; at least one. */
  static List<X509Certificate> readCertificates(String flag, Path file) {
    byte[] bytes = readFile(flag, file);
    Collection<? extends Certificate> certs;
    try {
      certs = CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(bytes));
    } catch (CertificateException e) {
      throw failure(flag + " " + file + ": not a PEM certificate file (" + reason(e) + ")");
    }
    if (certs.isEmpty()) {
      throw failure(flag + " " + file + ": no certificate in it (expected -----BEGIN CERTIFICATE-----)");
    }
    List<X509Certificate> out = new ArrayList<>();
    for (Certificate c : certs) {
      out.add((X509Certificate) c);
    }
    return out;
  }

  /**
   * Checks that the first certificate of {@code certFile} may authenticate a TLS client: no
   * extended key usage, or one that names clientAuth (or any usage), as a TLS server checks it.
   */
  static void checkClientAuthentication(String flag, Path certFile) {
    List<String> usages;
    try {
      usages = readCertificates(flag, certFile).get(0).getExtendedKeyUsage();
    } catch (java.security.cert.CertificateParsingException e) {
      throw failure(flag + " " + certFile + ": unreadable extended key usage (" + reason(e) + ")");
    }
    if (usages != null && !usages.contains(OID_CLIENT_AUTH) && !usages.contains(OID_ANY_USAGE)) {
      throw failure(flag + " " + certFile + ": the certificate is not for client authentication (its extended key "
          + "usage lacks clientAuth), and the coordinator shows it to the followers; issue it with "
          + "extendedKeyUsage = serverAuth, clientAuth");
    }
  }

  /** Checks that {@code keyFile} holds the private key of the first certificate of {@code certFile}. */
  static void checkKeyPair(String certFlag, Path certFile, String keyFlag, Path keyFile) {
    X509Certificate cert = readCertificates(certFlag, certFile).get(0);
    PrivateKey key = readPrivateKey(keyFlag, keyFile);
    if (!matches(key, cert.getPublicKey())) {
      throw failure(keyFlag + " " + keyFile + ": not the private key of the certificate in " + certFile);
    }
  }

  /** An unencrypted PKCS#8 private key (RSA, EC or Ed25519) from a PEM file. */
  static PrivateKey readPrivateKey(String flag, Path file) {
    String text = new String(readFile(flag, file), StandardCharsets.US_ASCII);
    Matcher m = PEM_KEY.matcher(text);
    if (!m.find()) {
      throw failure(flag + " " + file + ": no private key in it (expected -----BEGIN PRIVATE KEY-----)");
    }
    String kind = m.group(1).trim();
    if (kind.equals("ENCRYPTED")) {
      throw failure(flag + " " + file + ": the key is encrypted; gradflow needs an unencrypted PKCS#8 key");
    }
    if (!kind.isEmpty()) {
      throw failure(flag + " " + file + ": a " + kind + " key in the old format; convert it with "
          + "'openssl pkcs8 -topk8 -nocrypt -in " + file + " -out KEY.pem'");
    }
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(m.group(2));
    } catch (IllegalArgumentException e) {
      throw failure(flag + " " + file + ": the key is not valid base64");
    }
    for (String algorithm : List.of("EC", "RSA", "Ed25519", "EdDSA")) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException e) {
        // try the next algorithm
      }
    }
    throw failure(flag + " " + file + ": not a readable RSA, EC or Ed25519 PKCS#8 private key");
  }

  private static boolean matches(PrivateKey key, PublicKey publicKey) {
    String algorithm = switch (key.getAlgorithm()) {
      case "EC" -> "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      default -> "Ed25519";
    };
    try {
      byte[] challenge = new byte[32];
      new SecureRandom().nextBytes(challenge);
      Signature s = Signature.getInstance(algorithm);
      s.initSign(key);
      s.update(challenge);
      byte[] signature = s.sign();
      Signature v = Signature.getInstance(algorithm);
      v.initVerify(publicKey);
      v.update(challenge);
      return v.verify(signature);
    } catch (GeneralSecurityException e) {
      return false; // another algorithm than the certificate's: no match
    }
  }

  private static byte[] readFile(String flag, Path file) {
    if (file == null) {
      throw failure(flag + " is missing");
    }
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw failure(flag + " " + file + ": cannot read it (" + reason(e) + ")");
    }
  }

  private static boolean readableByOthers(Path file) {
    PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
    if (view == null) {
      return false; // not a POSIX file system: nothing to say
    }
    try {
      Set<PosixFilePermission> p = view.readAttributes().permissions();
      return p.contains(PosixFilePermission.GROUP_READ) || p.contains(PosixFilePermission.OTHERS_READ);
    } catch (IOException e) {
      return false;
    }
  }

  private static String reason(Exception e) {
    if (e instanceof java.nio.file.NoSuchFileException) {
      return "no such file";
    }
    if (e instanceof java.nio.file.AccessDeniedException) {
      return "permission denied";
    }
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().replace('\n', ' ');
  }

  private static CommandFailure failure(String message) {
    return new CommandFailure(ExitCode.SECURITY, message);
  }
}
