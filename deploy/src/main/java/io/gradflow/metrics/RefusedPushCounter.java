package io.gradflow.metrics;

import io.gradflow.proto.ExchangeReply;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Locale;

/**
 * Counts the pushes the server refuses, by the gRPC status it answers with ({@code
 * invalid_argument}, {@code failed_precondition}, ...), at the edge: it watches how each {@code
 * PushGradients} call closes, and the push refusals an {@code Exchange} stream replies with (the
 * shared-memory path), and leaves the step loop alone.
 */
public final class RefusedPushCounter implements ServerInterceptor {
  private final JobMetrics metrics;

  public RefusedPushCounter(JobMetrics metrics) {
    this.metrics = metrics;
  }

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
    String method = call.getMethodDescriptor().getBareMethodName();
    if (method.equals("Exchange")) { // a push refused on the stream is a reply, and the stream goes on
      return next.startCall(new SimpleForwardingServerCall<>(call) {
        @Override
        public void sendMessage(A message) {
          if (message instanceof ExchangeReply reply && reply.hasRefused() && reply.getRefused().getPush()) {
            metrics.pushRefused(Status.fromCodeValue(reply.getRefused().getCode()).getCode().name().toLowerCase(Locale.ROOT));
          }
          super.sendMessage(message);
        }
      }, headers);
    }
    if (!method.equals("PushGradients")) {
      return next.startCall(call, headers);
    }
    return next.startCall(new SimpleForwardingServerCall<>(call) {
      @Override
      public void close(Status status, Metadata trailers) {
        if (!status.isOk()) {
          metrics.pushRefused(status.getCode().name().toLowerCase(Locale.ROOT));
        }
        super.close(status, trailers);
      }
    }, headers);
  }
}
