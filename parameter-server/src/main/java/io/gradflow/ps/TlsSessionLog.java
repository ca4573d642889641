package io.gradflow.ps;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Reports, once, the TLS session of the first call the server takes over TLS: what was negotiated,
 * not only what was configured ({@code TLS: TLSv1.3 TLS_AES_128_GCM_SHA256, client certificate
 * CN=gradflow worker,O=gradflow}). Plaintext calls are not reported.
 */
final class TlsSessionLog implements ServerInterceptor {
  private final Consumer<String> log;
  private final AtomicBoolean reported = new AtomicBoolean();

  TlsSessionLog(Consumer<String> log) {
    this.log = log;
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    if (session != null && reported.compareAndSet(false, true)) {
      log.accept(describe(session));
    }
    return next.startCall(call, headers);
  }

  static String describe(SSLSession session) {
    String client;
    try {
      client = "client certificate " + session.getPeerPrincipal().getName();
    } catch (SSLPeerUnverifiedException e) {
      client = "no client certificate";
    }
    return "TLS: " + session.getProtocol() + " " + session.getCipherSuite() + ", " + client;
  }
}
