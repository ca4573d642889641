package io.gradflow.metrics;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.proto.ExchangeReply;
import io.gradflow.proto.ExchangeRequest;
import io.gradflow.proto.ParameterServerGrpc;
import io.gradflow.proto.PushChunk;
import io.gradflow.proto.PushResponse;
import io.gradflow.proto.Refusal;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The interceptor counts a push refused as a PushGradients call's status and one refused as an
 * Exchange stream's reply, by status code, and nothing for a refused pull or an accepted push.
 */
class RefusedPushCounterTest {
  @TempDir Path dir;

  /** Refuses every PushGradients call with INVALID_ARGUMENT; on Exchange, answers requests from a script. */
  private static final class Refusing extends ParameterServerGrpc.ParameterServerImplBase {
    @Override
    public StreamObserver<PushChunk> pushGradients(StreamObserver<PushResponse> response) {
      return new StreamObserver<>() {
        @Override
        public void onNext(PushChunk chunk) {}

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          response.onError(Status.INVALID_ARGUMENT.withDescription("bad push").asRuntimeException());
        }
      };
    }

    @Override
    public StreamObserver<ExchangeRequest> exchange(StreamObserver<ExchangeReply> response) {
      return new StreamObserver<>() {
        @Override
        public void onNext(ExchangeRequest r) {
          boolean push = r.hasPush();
          if (push && r.getPush().getStep() == 1) {
            response.onNext(ExchangeReply.newBuilder().setPushed(PushResponse.newBuilder().setStep(1)).build());
            return;
          }
          response.onNext(ExchangeReply.newBuilder().setRefused(Refusal.newBuilder().setPush(push)
              .setCode(Status.Code.FAILED_PRECONDITION.value()).setDescription("no")).build());
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          response.onCompleted();
        }
      };
    }
  }

  @Test
  void refusedPushesAreCountedOnBothPaths() throws Exception {
    JobMetrics metrics = new JobMetrics(dir);
    String name = InProcessServerBuilder.generateName();
    Server server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(ServerInterceptors.intercept(new Refusing(), new RefusedPushCounter(metrics))).build().start();
    ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    try (MetricsEndpoint endpoint = MetricsEndpoint.start("127.0.0.1", 0, metrics)) {
      ParameterServerGrpc.ParameterServerStub stub = ParameterServerGrpc.newStub(channel);
      CountDownLatch closed = new CountDownLatch(2);
      StreamObserver<PushChunk> push = stub.pushGradients(ending(closed));
      push.onCompleted();
      StreamObserver<ExchangeRequest> exchange = stub.exchange(ending(closed));
      exchange.onNext(ExchangeRequest.newBuilder().setPush(io.gradflow.proto.PushHeader.newBuilder().setStep(0)).build());
      exchange.onNext(ExchangeRequest.newBuilder().setPush(io.gradflow.proto.PushHeader.newBuilder().setStep(1)).build());
      exchange.onNext(ExchangeRequest.newBuilder().setPull(io.gradflow.proto.PullRequest.newBuilder().setStep(0)).build());
      exchange.onCompleted();
      assertTrue(closed.await(10, TimeUnit.SECONDS));
      String text = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + endpoint.port() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
      for (String expected : new String[] {"gradflow_pushes_refused_total{reason=\"invalid_argument\"} 1.0",
          "gradflow_pushes_refused_total{reason=\"failed_precondition\"} 1.0"}) {
        assertTrue(text.lines().anyMatch(expected::equals), expected + " in\n" + text);
      }
    } finally {
      channel.shutdownNow();
      server.shutdownNow();
    }
  }

  private static <T> StreamObserver<T> ending(CountDownLatch closed) {
    return new StreamObserver<>() {
      @Override
      public void onNext(T value) {}

      @Override
      public void onError(Throwable t) {
        closed.countDown();
      }

      @Override
      public void onCompleted() {
        closed.countDown();
      }
    };
  }
}
