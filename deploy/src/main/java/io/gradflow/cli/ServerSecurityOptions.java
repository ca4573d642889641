package io.gradflow.cli;

import io.gradflow.worker.TokenCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.CompositeChannelCredentials;
import io.grpc.InsecureChannelCredentials;
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

  @Option(names = "--tls-ca", paramLabel = "PEM", description = "Mutual TLS: accept only clients whose certificate one of these CAs (PEM) signed; the coordinator of sharded servers trusts its followers by it too, unless --range-server-ca.")
  Path tlsCa;

  @Option(names = "--token-file", paramLabel = "FILE", description = "Refuse every call that does not carry the job token in FILE (UNAUTHENTICATED).")
  Path tokenFile;

  @Option(names = "--range-server-ca", paramLabel = "PEM", description = "The coordinator of sharded servers that serve TLS: trust the followers (--range-server) only if one of these CAs (PEM) signed their certificates (default: --tls-ca).")
  Path rangeServerCa;

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

  /**
   * Checks these options for server {@code index} of {@code servers} sharded ones whose coordinator
   * reads the followers at {@code rangeServers}. A coordinator that serves TLS reads its followers
   * over TLS (every server takes the same TLS flags) and needs the CA that signed their
   * certificates: {@code --range-server-ca}, else {@code --tls-ca}. With {@code --tls-ca} (mutual
   * TLS) it shows them its own certificate, which must allow client authentication.
   */
  void checkSharded(int servers, int index, List<String> rangeServers) {
    boolean tlsCoordinator = servers > 1 && index == 0 && tlsCert != null;
    if (rangeServerCa != null && !tlsCoordinator) {
      throw CommandFailure.usage("--range-server-ca is for the coordinator of sharded servers that serve TLS "
          + "(--servers S > 1, --server-index 0, --tls-cert)");
    }
    if (!tlsCoordinator) {
      return;
    }
    if (tlsCa == null && rangeServerCa == null) {
      throw CommandFailure.usage("--servers " + servers + " with --tls-cert: the coordinator reads its followers over TLS "
          + "and needs the CA that signed their certificates: --range-server-ca PEM (or --tls-ca)");
    }
    for (String address : rangeServers) {
      if (address.startsWith("unix:")) {
        throw CommandFailure.usage("--range-server " + address + ": a Unix domain socket carries no TLS; give the follower's HOST:PORT");
      }
    }
    if (rangeServerCa != null) {
      JobSecurity.readCertificates("--range-server-ca", rangeServerCa);
    }
    if (tlsCa != null) {
      JobSecurity.checkClientAuthentication("--tls-cert", tlsCert);
    }
  }

  /**
   * The credentials of the coordinator's calls to its followers: TLS trusting {@code
   * --range-server-ca} (else {@code --tls-ca}), with this server's certificate as the client's
   * under mutual TLS ({@code --tls-ca}), and the job {@code token} (null: none); plaintext without
   * {@code --tls-cert}.
   */
  ChannelCredentials followerCredentials(String token) {
    ChannelCredentials transport = tlsCert == null
        ? InsecureChannelCredentials.create()
        : JobSecurity.channelCredentials(rangeServerCa != null ? rangeServerCa : tlsCa,
            tlsCa != null ? tlsCert : null, tlsCa != null ? tlsKey : null);
    return token == null ? transport : CompositeChannelCredentials.create(transport, new TokenCredentials(token));
  }

  /**
   * A coordinator's failure to reach a follower with what it means for its flags, for the TLS
   * failures a user makes: a follower's certificate that another CA signed or that does not name
   * the address dialled, a follower that wants a client certificate. Others stay as they are.
   */
  static String explainedFollowerFailure(String message) {
    if (message.contains("unable to find valid certification path")) {
      return message + " (the follower's certificate is not signed by --range-server-ca, or --tls-ca)";
    }
    if (message.contains("No subject alternative") || message.contains("No name matching")) {
      return message + " (the follower's certificate does not name the host of its --range-server address)";
    }
    if (message.contains("CERTIFICATE_REQUIRED")) {
      return message + " (the follower wants a client certificate: with --tls-ca the coordinator shows its --tls-cert)";
    }
    return message;
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
