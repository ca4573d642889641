package io.gradflow.worker;

import io.gradflow.common.wire.JobToken;
import io.grpc.CallCredentials;
import io.grpc.Metadata;
import java.util.concurrent.Executor;

/**
 * Attaches the per-job token ({@code authorization: Bearer <token>}) to every call. Combine it
 * with the channel's transport credentials ({@code CompositeChannelCredentials.create(tls, new
 * TokenCredentials(token))}) or set it on a stub ({@code stub.withCallCredentials(...)}).
 *
 * <p>It sends the token whatever the transport's security level: plaintext is allowed for
 * loopback jobs; the command line warns when a token would cross a network without TLS.
 */
public final class TokenCredentials extends CallCredentials {
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of(JobToken.HEADER, Metadata.ASCII_STRING_MARSHALLER);

  private final String headerValue;

  public TokenCredentials(String token) {
    this.headerValue = JobToken.headerValue(token);
  }

  @Override
  public void applyRequestMetadata(RequestInfo info, Executor appExecutor, MetadataApplier applier) {
    Metadata headers = new Metadata();
    headers.put(AUTHORIZATION, headerValue);
    applier.apply(headers);
  }
}
