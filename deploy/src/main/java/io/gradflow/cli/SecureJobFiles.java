package io.gradflow.cli;

import io.gradflow.common.wire.JobToken;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.List;
import java.util.Set;

/**
 * The files of a job with mutual TLS and a token, in a 0700 directory: {@code ca.pem}, {@code
 * server.pem} + {@code server.key} (SAN 127.0.0.1, ::1, localhost and the servers' hosts given),
 * {@code client.pem} + {@code client.key}, and {@code token} (256 random bits); key and token
 * files are 0600. The CA's private key is never written. What {@code gradflow train --secure}
 * writes to {@code OUT/secure/} for a local job, and {@code gradflow credentials} for a cluster's.
 */
record SecureJobFiles(Path dir) {
  private static final Set<PosixFilePermission> OWNER_ONLY_DIR = PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> OWNER_ONLY_FILE = PosixFilePermissions.fromString("rw-------");

  /** Creates (or replaces) the files in {@code dir}, the server certificate for this host's loopback. */
  static SecureJobFiles create(Path dir) {
    return create(dir, List.of());
  }

  /**
   * Creates (or replaces) the files in {@code dir}, the server certificate for this host's
   * loopback and for {@code serverHosts} (DNS names or IP addresses, as {@link #checkHost} takes).
   */
  static SecureJobFiles create(Path dir, List<String> serverHosts) {
    try {
      Files.createDirectories(dir);
      setPermissions(dir, OWNER_ONLY_DIR);
      SecureRandom random = new SecureRandom();
      LocalCa ca = new LocalCa(JobToken.generate(random).substring(0, 8), random);
      List<String> dnsNames = new java.util.ArrayList<>();
      List<InetAddress> addresses = new java.util.ArrayList<>();
      for (String host : serverNames(serverHosts)) {
        if (isAddress(host)) {
          InetAddress a = InetAddress.getByName(host);
          if (!addresses.contains(a)) {
            addresses.add(a);
          }
        } else {
          dnsNames.add(host);
        }
      }
      LocalCa.Issued server = ca.issueServer("gradflow server", dnsNames, addresses);
      LocalCa.Issued client = ca.issueClient("gradflow worker");
      SecureJobFiles files = new SecureJobFiles(dir);
      write(files.ca(), ca.caPem(), false);
      write(files.serverCert(), server.certificatePem(), false);
      write(files.serverKey(), server.privateKeyPem(), true);
      write(files.clientCert(), client.certificatePem(), false);
      write(files.clientKey(), client.privateKeyPem(), true);
      write(files.token(), JobToken.generate(random) + "\n", true);
      return files;
    } catch (IOException | GeneralSecurityException e) {
      throw new CommandFailure(ExitCode.SECURITY, "cannot create the job's certificates and token in " + dir + ": " + e.getMessage());
    }
  }

  /** The names the server certificate is for: this host's loopback, then {@code serverHosts}, each once. */
  static List<String> serverNames(List<String> serverHosts) {
    return java.util.stream.Stream.concat(java.util.stream.Stream.of("localhost", "127.0.0.1", "::1"), serverHosts.stream()).distinct().toList();
  }

  /**
   * Checks a server host for the certificate: an IPv4 or IPv6 address, or a DNS name of letters,
   * digits, hyphens and dots (RFC 1123); a usage error naming {@code option} otherwise.
   */
  static void checkHost(String option, String host) {
    boolean dnsName = host.length() <= 253
        && host.matches("(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*");
    if (!dnsName && !isAddress(host)) {
      throw CommandFailure.usage(option + " '" + host + "': expected a host name (letters, digits, '-', '.') or an IP address");
    }
  }

  /** Whether {@code host} is an IPv4 or IPv6 literal (no name lookup). */
  private static boolean isAddress(String host) {
    if (host.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
      return java.util.Arrays.stream(host.split("\\.")).allMatch(octet -> Integer.parseInt(octet) < 256);
    }
    if (!host.contains(":") || !host.matches("[0-9A-Fa-f:.]+")) {
      return false;
    }
    try {
      InetAddress.getByName(host); // an IPv6 literal is parsed, never looked up
      return true;
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  Path ca() {
    return dir.resolve("ca.pem");
  }

  Path serverCert() {
    return dir.resolve("server.pem");
  }

  Path serverKey() {
    return dir.resolve("server.key");
  }

  Path clientCert() {
    return dir.resolve("client.pem");
  }

  Path clientKey() {
    return dir.resolve("client.key");
  }

  Path token() {
    return dir.resolve("token");
  }

  /** The server's flags: TLS, mutual TLS, token. */
  List<String> serverArgs() {
    return List.of("--tls-cert", serverCert().toString(), "--tls-key", serverKey().toString(),
        "--tls-ca", ca().toString(), "--token-file", token().toString());
  }

  /** A worker's flags: trust the CA, present the client certificate, send the token. */
  List<String> workerArgs() {
    return List.of("--tls-ca", ca().toString(), "--tls-cert", clientCert().toString(),
        "--tls-key", clientKey().toString(), "--token-file", token().toString());
  }

  /** Writes a fresh file; a secret one is created 0600 before anything is written to it. */
  private static void write(Path file, String content, boolean secret) throws IOException {
    Files.deleteIfExists(file);
    if (secret && Files.getFileAttributeView(file.getParent(), PosixFileAttributeView.class) != null) {
      Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY_FILE));
      setPermissions(file, OWNER_ONLY_FILE); // the umask may have taken some away; never adds any
    }
    Files.writeString(file, content, StandardCharsets.US_ASCII);
  }

  private static void setPermissions(Path path, Set<PosixFilePermission> permissions) throws IOException {
    if (Files.getFileAttributeView(path, PosixFileAttributeView.class) != null) {
      Files.setPosixFilePermissions(path, permissions);
    }
  }
}
