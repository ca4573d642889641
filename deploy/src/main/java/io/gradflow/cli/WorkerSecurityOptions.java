package io.gradflow.cli;

import io.gradflow.worker.TokenCredentials;
import io.gradflow.worker.WorkerFailure;
import io.grpc.ChannelCredentials;
import io.grpc.CompositeChannelCredentials;
import java.nio.file.Path;
import java.util.function.Consumer;
import picocli.CommandLine.Option;

/**
 * A worker's TLS and job token: {@code --tls-ca}, {@code --tls-cert}, {@code --tls-key}, {@code
 * --tls-server-name}, {@code --token-file}.
 */
final class WorkerSecurityOptions {
  @Option(names = "--tls-ca", paramLabel = "PEM", description = "Connect with TLS; trust the server only if one of these CAs (PEM) signed its certificate.")
  Path tlsCa;

  @Option(names = "--tls-cert", paramLabel = "PEM", description = "Client certificate chain (PEM) for a server that requires mutual TLS; needs --tls-key and --tls-ca.")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "PEM", description = "The private key of --tls-cert (unencrypted PKCS#8 PEM).")
  Path tlsKey;

  @Option(names = "--tls-server-name", paramLabel = "NAME", description = "Expect NAME in the server's certificate instead of the --server host (needs --tls-ca).")
  String tlsServerName;

  @Option(names = "--token-file", paramLabel = "FILE", description = "Send the job token in FILE with every call.")
  Path tokenFile;

  /** Plaintext, TLS (--tls-ca) or mutual TLS (and --tls-cert, --tls-key), with the token when given. */
  ChannelCredentials credentials(HostPort target, Consumer<String> log) {
    if ((tlsCert == null) != (tlsKey == null)) {
      throw CommandFailure.usage("--tls-cert and --tls-key go together: give both or neither");
    }
    if (tlsCa == null && (tlsCert != null || tlsServerName != null)) {
      throw CommandFailure.usage(
          (tlsCert != null ? "--tls-cert" : "--tls-server-name") + " needs --tls-ca (the CA that signed the server's certificate)");
    }
    ChannelCredentials transport = JobSecurity.channelCredentials(tlsCa, tlsCert, tlsKey);
    if (tokenFile == null) {
      return transport;
    }
    String token = JobSecurity.readToken(tokenFile, log);
    if (tlsCa == null && !JobSecurity.isLoopback(target.host())) {
      log.accept("WARNING: sending the job token to " + target.host() + " without TLS: anyone on the network can read it (use --tls-ca)");
    }
    return CompositeChannelCredentials.create(transport, new TokenCredentials(token));
  }

  /**
   * When a call failed in the TLS handshake, "; TLS handshake failed: " and the deepest reason
   * (gRPC says only "io exception", the TLS engine "General OpenSslEngine problem"); else "".
   */
  String handshakeFailure(WorkerFailure f) {
    if (tlsCa == null) {
      return "";
    }
    String reason = io.gradflow.common.wire.TlsFailure.reason(f);
    return reason == null ? "" : "; TLS handshake failed: " + explained(reason);
  }

  /**
   * The TLS engine's reason with what it means for a worker's flags, for the failures a user
   * makes: a plaintext server (its reply is "not an SSL/TLS record" and a hex dump), a server that
   * wants a client certificate, a server certificate another CA signed. Others stay as they are.
   */
  static String explained(String reason) {
    if (reason.startsWith("not an SSL/TLS record")) {
      return "the server answered without TLS (it has no --tls-cert: drop --tls-ca, or give it a certificate)";
    }
    if (reason.contains("CERTIFICATE_REQUIRED")) {
      return reason + " (the server wants a client certificate: --tls-cert and --tls-key)";
    }
    if (reason.contains("unable to find valid certification path")) {
      return reason + " (the server's certificate is not signed by --tls-ca)";
    }
    return reason;
  }
}
