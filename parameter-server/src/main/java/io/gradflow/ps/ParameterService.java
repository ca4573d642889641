package io.gradflow.ps;

import io.gradflow.proto.HeartbeatRequest;
import io.gradflow.proto.HeartbeatResponse;
import io.gradflow.proto.JoinRequest;
import io.gradflow.proto.JoinResponse;
import io.gradflow.proto.LeaveRequest;
import io.gradflow.proto.LeaveResponse;
import io.gradflow.proto.ParameterServerGrpc;
import io.gradflow.proto.PullChunk;
import io.gradflow.proto.PullRequest;
import io.gradflow.proto.PushChunk;
import io.gradflow.proto.PushResponse;
import io.gradflow.proto.ReadyRequest;
import io.gradflow.proto.ReadyResponse;
import io.gradflow.proto.TensorChunk;
import io.gradflow.proto.WeightsHeader;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

/** The gRPC face of a {@link StepCoordinator}: decodes calls, maps failures to Status codes. */
final class ParameterService extends ParameterServerGrpc.ParameterServerImplBase {
  /** How long a pull waits on the server for its step before answering NOT_YET. */
  static final long PULL_WAIT_MILLIS = 2_000;

  private final StepCoordinator coordinator;

  ParameterService(StepCoordinator coordinator) {
    this.coordinator = coordinator;
  }

  @Override
  public void join(JoinRequest request, StreamObserver<JoinResponse> response) {
    unary(response, () -> coordinator.join(request));
  }

  @Override
  public void ready(ReadyRequest request, StreamObserver<ReadyResponse> response) {
    unary(
        response,
        () -> {
          coordinator.ready(request.getWorkerId(), request.getDataDigest(), request.getTrainCount());
          return ReadyResponse.getDefaultInstance();
        });
  }

  @Override
  public void leave(LeaveRequest request, StreamObserver<LeaveResponse> response) {
    unary(
        response,
        () -> {
          coordinator.leave(request.getWorkerId(), request.getReason(), request.getFatal());
          return LeaveResponse.getDefaultInstance();
        });
  }

  @Override
  public void heartbeat(HeartbeatRequest request, StreamObserver<HeartbeatResponse> response) {
    unary(response, () -> HeartbeatResponse.newBuilder().setStep(coordinator.heartbeat(request.getWorkerId())).build());
  }

  @Override
  public void pullWeights(PullRequest request, StreamObserver<PullChunk> response) {
    ServerCallStreamObserver<PullChunk> call = (ServerCallStreamObserver<PullChunk>) response;
    StepCoordinator.PullAnswer answer =
        new StepCoordinator.PullAnswer() {
          @Override
          public void answer(StepCoordinator.Pull pull) {
            send(response, pull);
          }

          @Override
          public void fail(StatusRuntimeException e) {
            response.onError(e);
          }
        };
    call.setOnCancelHandler(() -> coordinator.cancelPull(answer));
    try {
      coordinator.pull(request, PULL_WAIT_MILLIS, answer);
    } catch (StatusRuntimeException e) {
      response.onError(e);
    }
  }

  private void send(StreamObserver<PullChunk> response, StepCoordinator.Pull pull) {
    response.onNext(
        PullChunk.newBuilder()
            .setHeader(
                WeightsHeader.newBuilder()
                    .setState(pull.state())
                    .setStep(pull.step())
                    .setShardFirst(pull.first())
                    .setShardEnd(pull.end())
                    .setTensorCount(pull.weights().isEmpty() ? 0 : coordinator.tensorCount()))
            .build());
    for (TensorChunk c : pull.weights()) {
      response.onNext(PullChunk.newBuilder().setChunk(c).build());
    }
    response.onCompleted();
  }

  @Override
  public StreamObserver<PushChunk> pushGradients(StreamObserver<PushResponse> response) {
    return new StreamObserver<>() {
      private StepCoordinator.PushSession session;
      private boolean failed;

      @Override
      public void onNext(PushChunk chunk) {
        if (failed) {
          return;
        }
        try {
          if (session == null) {
            if (!chunk.hasHeader()) {
              throw Status.INVALID_ARGUMENT
                  .withDescription("a push starts with its header, got a chunk")
                  .asRuntimeException();
            }
            session = coordinator.beginPush(chunk.getHeader());
          } else if (chunk.hasChunk()) {
            session.addChunk(chunk.getChunk());
          } else {
            throw Status.INVALID_ARGUMENT
                .withDescription("a push has one header, got a second")
                .asRuntimeException();
          }
        } catch (StatusRuntimeException e) {
          fail(e);
        } catch (RuntimeException e) {
          fail(Status.INTERNAL.withDescription(e.toString()).withCause(e).asRuntimeException());
        }
      }

      private void fail(StatusRuntimeException e) {
        failed = true;
        if (session != null) {
          session.abort();
        }
        response.onError(e);
      }

      @Override
      public void onError(Throwable t) {
        if (session != null && !failed) {
          session.abort();
        }
      }

      @Override
      public void onCompleted() {
        if (failed) {
          return;
        }
        if (session == null) {
          response.onError(Status.INVALID_ARGUMENT.withDescription("empty push").asRuntimeException());
          return;
        }
        try {
          PushResponse r = session.commit();
          response.onNext(r);
          response.onCompleted();
        } catch (StatusRuntimeException e) {
          response.onError(e);
        } catch (RuntimeException e) {
          response.onError(Status.INTERNAL.withDescription(e.toString()).withCause(e).asRuntimeException());
        }
      }
    };
  }

  private interface Call<T> {
    T run();
  }

  private static <T> void unary(StreamObserver<T> response, Call<T> call) {
    T result;
    try {
      result = call.run();
    } catch (StatusRuntimeException e) {
      response.onError(e);
      return;
    } catch (RuntimeException e) {
      response.onError(Status.INTERNAL.withDescription(e.toString()).withCause(e).asRuntimeException());
      return;
    }
    response.onNext(result);
    response.onCompleted();
  }
}
