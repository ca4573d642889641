package io.gradflow.cli;

import io.grpc.ServerCredentials;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import picocli.CommandLine.Option;

/** The server's TLS and job token: {@code --tls-cert}, {@code --tls-key}, {@code --tls-ca}, {@code --token-file}. */
final class ServerSecurityOptions {
  @Option(names = "--tls-cert", paramLabel = "PEM", description = "Serve TLS with this certificate chain (PEM); needs --tls-key.")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "PEM", description = "The private key of --tls-cert (unencrypted PKCS#8 PEM).")
  Path tlsKey;

  @Option(names = "--tls-ca", paramLabel = "PEM", description = "Mutual TLS: accept only workers whose certificate one of these CAs (PEM) signed.")
  Path tlsCa;

  @Option(names = "--token-file", paramLabel = "FILE", description = "Refuse every call that does not carry the job token in FILE (UNAUTHENTICATED).")
  Path tokenFile;

  /** Plaintext, TLS (--tls-cert, --tls-key) or mutual TLS (and --tls-ca); checks the files first. */
  ServerCredentials credentials() {
    if ((tlsCert == null) != (tlsKey == null)) {
      throw CommandFailure.usage("--tls-cert and --tls-key go together: give both or neither");
    }
    if (tlsCa != null && tlsCert == null) {
      throw CommandFailure.usage("--tls-ca (mutual TLS) needs --tls-cert and --tls-key");
    }
    return JobSecurity.serverCredentials(tlsCert, tlsKey, tlsCa);
  }

  /** The job token of {@code --token-file}, or null without one. */
  String token(Consumer<String> warn) {
    return tokenFile == null ? null : JobSecurity.readToken(tokenFile, warn);
  }

  /** The one-line warnings of a server listening on {@code address}: plaintext beyond loopback, no token. */
  static List<String> warnings(String address, boolean loopback, boolean tls, boolean token) {
    List<String> out = new ArrayList<>();
    if (!loopback && !tls) {
      out.add("WARNING: listening on " + address + " beyond loopback without TLS: anyone on the network can read "
          + "and alter the job's traffic (use --tls-cert and --tls-key)");
    }
    if (!token) {
      out.add("WARNING: no --token-file: any client that can reach " + address + " can join or disturb the job");
    }
    return out;
  }
}
