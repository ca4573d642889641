package io.gradflow.cli;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * A throw-away certificate authority for one local job ({@code gradflow train --secure}): a
 * self-signed CA certificate, and leaf certificates it signs for the servers (SAN: 127.0.0.1, ::1,
 * localhost; server and client authentication: the coordinator of sharded servers presents its
 * certificate to the followers) and for the workers (client authentication). Keys are ECDSA
 * P-256, signatures ECDSA with SHA-256, certificates X.509 v3 in PEM, private keys unencrypted
 * PKCS#8 in PEM.
 *
 * <p>It needs only the JDK: the certificates are DER-encoded here (RFC 5280, the few fields and
 * extensions a TLS peer checks) and signed with {@link Signature}. The CA's private key never
 * leaves this object, so nobody can mint more certificates for the job once it is gone.
 */
final class LocalCa {
  private static final Duration VALIDITY = Duration.ofDays(365);
  private static final String OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2";
  private static final String OID_CN = "2.5.4.3";
  private static final String OID_O = "2.5.4.10";
  private static final String OID_SUBJECT_KEY_ID = "2.5.29.14";
  private static final String OID_KEY_USAGE = "2.5.29.15";
  private static final String OID_SUBJECT_ALT_NAME = "2.5.29.17";
  private static final String OID_BASIC_CONSTRAINTS = "2.5.29.19";
  private static final String OID_AUTHORITY_KEY_ID = "2.5.29.35";
  private static final String OID_EXT_KEY_USAGE = "2.5.29.37";
  private static final String OID_SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  private static final String OID_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

  /** A certificate and its private key, both PEM. */
  record Issued(String certificatePem, String privateKeyPem) {}

  private final SecureRandom random;
  private final KeyPair caKeys;
  private final byte[] caName;
  private final byte[] caCertificate;
  private final Instant notBefore;
  private final Instant notAfter;

  /** A new CA named {@code "gradflow job CA " + label}, valid from an hour ago for a year. */
  LocalCa(String label, SecureRandom random) throws GeneralSecurityException {
    this.random = random;
    this.caKeys = newKeyPair(random);
    this.caName = name("gradflow job CA " + label);
    this.notBefore = Instant.now().minus(Duration.ofHours(1)); // tolerate some clock skew
    this.notAfter = notBefore.plus(VALIDITY);
    this.caCertificate = certificate(caName, caKeys.getPublic(), seq(
        extension(OID_BASIC_CONSTRAINTS, true, seq(der(0x01, new byte[] {(byte) 0xff}))),
        extension(OID_KEY_USAGE, true, keyUsage(0x06, 1)), // keyCertSign, cRLSign
        extension(OID_SUBJECT_KEY_ID, false, der(0x04, keyId(caKeys.getPublic())))));
  }

  /** The CA certificate, PEM: what both sides trust. */
  String caPem() {
    return pem("CERTIFICATE", caCertificate);
  }

  /**
   * A server certificate for {@code dnsNames} and {@code ipAddresses}, signed by this CA, good for
   * client authentication too (a coordinator reads its followers with it).
   */
  Issued issueServer(String commonName, List<String> dnsNames, List<InetAddress> ipAddresses)
      throws GeneralSecurityException {
    ByteArrayOutputStream names = new ByteArrayOutputStream();
    for (String dns : dnsNames) {
      names.writeBytes(der(0x82, dns.getBytes(StandardCharsets.US_ASCII))); // [2] dNSName
    }
    for (InetAddress ip : ipAddresses) {
      names.writeBytes(der(0x87, ip.getAddress())); // [7] iPAddress
    }
    return issue(commonName, List.of(OID_SERVER_AUTH, OID_CLIENT_AUTH),
        extension(OID_SUBJECT_ALT_NAME, false, der(0x30, names.toByteArray())));
  }

  /** A client certificate (for mutual TLS), signed by this CA. */
  Issued issueClient(String commonName) throws GeneralSecurityException {
    return issue(commonName, List.of(OID_CLIENT_AUTH));
  }

  /** A leaf certificate for {@code extendedKeyUsages} (OIDs), with {@code moreExtensions}, signed by this CA. */
  Issued issue(String commonName, List<String> extendedKeyUsages, byte[]... moreExtensions)
      throws GeneralSecurityException {
    KeyPair keys = newKeyPair(random);
    byte[][] extensions = new byte[5 + moreExtensions.length][];
    extensions[0] = extension(OID_BASIC_CONSTRAINTS, true, seq());
    extensions[1] = extension(OID_KEY_USAGE, true, keyUsage(0x80, 7)); // digitalSignature
    extensions[2] = extension(OID_EXT_KEY_USAGE, false, seq(extendedKeyUsages.stream().map(LocalCa::oid).toArray(byte[][]::new)));
    extensions[3] = extension(OID_SUBJECT_KEY_ID, false, der(0x04, keyId(keys.getPublic())));
    extensions[4] = extension(OID_AUTHORITY_KEY_ID, false, seq(der(0x80, keyId(caKeys.getPublic()))));
    System.arraycopy(moreExtensions, 0, extensions, 5, moreExtensions.length);
    byte[] cert = certificate(name(commonName), keys.getPublic(), seq(extensions));
    return new Issued(pem("CERTIFICATE", cert), pem("PRIVATE KEY", keys.getPrivate().getEncoded()));
  }

  /** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }. */
  private byte[] certificate(byte[] subject, PublicKey subjectKey, byte[] extensions)
      throws GeneralSecurityException {
    byte[] serial = new byte[16];
    random.nextBytes(serial);
    serial[0] &= 0x7f; // positive, at most 16 bytes
    serial[0] |= 0x40; // and never short
    byte[] algorithm = seq(oid(OID_ECDSA_SHA256));
    byte[] tbs = seq(
        der(0xa0, der(0x02, new byte[] {2})), // [0] version: v3
        der(0x02, serial),
        algorithm,
        caName, // issuer
        seq(time(notBefore), time(notAfter)),
        subject,
        subjectKey.getEncoded(), // SubjectPublicKeyInfo, already DER
        der(0xa3, extensions)); // [3] extensions
    return seq(tbs, algorithm, bitString(sign(caKeys.getPrivate(), tbs)));
  }

  private static KeyPair newKeyPair(SecureRandom random) throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), random);
    return g.generateKeyPair();
  }

  private static byte[] sign(PrivateKey key, byte[] data) throws GeneralSecurityException {
    Signature s = Signature.getInstance("SHA256withECDSA");
    s.initSign(key);
    s.update(data);
    return s.sign(); // DER Ecdsa-Sig-Value
  }

  /** A key identifier: the first 20 bytes of SHA-256 over the SubjectPublicKeyInfo. */
  private static byte[] keyId(PublicKey key) throws GeneralSecurityException {
    return Arrays.copyOf(MessageDigest.getInstance("SHA-256").digest(key.getEncoded()), 20);
  }

  /** Name ::= SEQUENCE OF RDN; here O=gradflow, CN=commonName. */
  private static byte[] name(String commonName) {
    return seq(
        der(0x31, seq(oid(OID_O), der(0x0c, "gradflow".getBytes(StandardCharsets.UTF_8)))),
        der(0x31, seq(oid(OID_CN), der(0x0c, commonName.getBytes(StandardCharsets.UTF_8)))));
  }

  private static byte[] extension(String oid, boolean critical, byte[] value) {
    return critical
        ? seq(oid(oid), der(0x01, new byte[] {(byte) 0xff}), der(0x04, value))
        : seq(oid(oid), der(0x04, value));
  }

  /** KeyUsage BIT STRING: one byte of flags with {@code unusedBits} trailing zero bits. */
  private static byte[] keyUsage(int flags, int unusedBits) {
    return der(0x03, new byte[] {(byte) unusedBits, (byte) flags});
  }

  private static byte[] bitString(byte[] bytes) {
    byte[] content = new byte[bytes.length + 1]; // leading 0: no unused bits
    System.arraycopy(bytes, 0, content, 1, bytes.length);
    return der(0x03, content);
  }

  /** UTCTime up to 2049, GeneralizedTime from 2050 on (RFC 5280 4.1.2.5). */
  private static byte[] time(Instant t) {
    var utc = t.atOffset(ZoneOffset.UTC);
    boolean utcTime = utc.getYear() < 2050;
    String text = utc.format(DateTimeFormatter.ofPattern(utcTime ? "yyMMddHHmmss'Z'" : "yyyyMMddHHmmss'Z'"));
    return der(utcTime ? 0x17 : 0x18, text.getBytes(StandardCharsets.US_ASCII));
  }

  static byte[] oid(String dotted) {
    String[] arcs = dotted.split("\\.");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(Integer.parseInt(arcs[0]) * 40 + Integer.parseInt(arcs[1]));
    for (int i = 2; i < arcs.length; i++) {
      long v = Long.parseLong(arcs[i]);
      int groups = Math.max(1, (64 - Long.numberOfLeadingZeros(v) + 6) / 7);
      for (int g = groups - 1; g >= 0; g--) {
        out.write((int) ((v >>> (7 * g)) & 0x7f) | (g > 0 ? 0x80 : 0));
      }
    }
    return der(0x06, out.toByteArray());
  }

  private static byte[] seq(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return der(0x30, out.toByteArray());
  }

  /** One DER TLV with the definite length in short or long form. */
  static byte[] der(int tag, byte[] content) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + 6);
    out.write(tag);
    int n = content.length;
    if (n < 0x80) {
      out.write(n);
    } else {
      byte[] len = BigInteger.valueOf(n).toByteArray();
      int skip = len[0] == 0 ? 1 : 0;
      out.write(0x80 | (len.length - skip));
      out.write(len, skip, len.length - skip);
    }
    out.writeBytes(content);
    return out.toByteArray();
  }

  static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }
}
