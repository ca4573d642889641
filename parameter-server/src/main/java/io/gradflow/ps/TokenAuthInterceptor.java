package io.gradflow.ps;

import io.gradflow.common.wire.JobToken;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.function.Consumer;

/**
 * Checks the per-job token on every call: a call whose {@code authorization} header is not
 * {@code Bearer <token>} is closed with UNAUTHENTICATED ("missing or wrong job token") before
 * any service sees it, and the refusal is logged with the method and the peer's address.
 *
 * <p>Install it on the server builder ({@code builder.intercept(new TokenAuthInterceptor(...))})
 * so that it guards every service the server will ever carry. The comparison is over SHA-256
 * digests with {@link MessageDigest#isEqual}, so its time depends neither on where a wrong token
 * differs nor on its length.
 */
public final class TokenAuthInterceptor implements ServerInterceptor {
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of(JobToken.HEADER, Metadata.ASCII_STRING_MARSHALLER);

  /** The description every refused caller gets, whatever was wrong. */
  public static final String REFUSAL = "missing or wrong job token";

  private final byte[] expected;
  private final Consumer<String> log;

  /**
   * @param token the job's token (printable ASCII, see {@link JobToken#checkValid})
   * @param log where refusals are reported, one line each
   */
  public TokenAuthInterceptor(String token, Consumer<String> log) {
    this.expected = sha256(JobToken.headerValue(token));
    this.log = log;
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    String presented = headers.get(AUTHORIZATION);
    if (presented != null && MessageDigest.isEqual(expected, sha256(presented))) {
      return next.startCall(call, headers);
    }
    SocketAddress peer = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    log.accept("refused " + call.getMethodDescriptor().getFullMethodName() + " from "
        + (peer == null ? "an unknown peer" : peer) + ": "
        + (presented == null ? "no job token" : "wrong job token") + " (UNAUTHENTICATED)");
    call.close(Status.UNAUTHENTICATED.withDescription(REFUSAL), new Metadata());
    return new ServerCall.Listener<>() {};
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.US_ASCII));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
