package io.gradflow.ps;

import io.gradflow.proto.ExchangeReply;
import io.gradflow.proto.ExchangeRequest;
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
import io.gradflow.common.wire.ExchangeMethods;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

/** The gRPC face of a {@link StepCoordinator}: decodes calls, answers them, and turns refusals into Status codes ({@link RefusalStatus}). */
final class ParameterService extends ParameterServerGrpc.ParameterServerImplBase {
  /** How long a pull waits on the server for its step before answering NOT_YET. */
  static final long PULL_WAIT_MILLIS = 2_000;

  private final StepCoordinator coordinator;

  ParameterService(StepCoordinator coordinator) {
    this.coordinator = coordinator;
  }

  /**
   * The service as servers bind it: the generated methods, but PushGradients parses its chunks
   * with {@link ExchangeMethods#PUSH_CHUNKS}, without copying them out of the transport's buffers.
   */
  ServerServiceDefinition definition() {
    ServerServiceDefinition generated = bindService();
    ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(ParameterServerGrpc.SERVICE_NAME);
    for (ServerMethodDefinition<?, ?> m : generated.getMethods()) {
      if (m.getMethodDescriptor().getFullMethodName().equals(ExchangeMethods.PUSH.getFullMethodName())) {
        @SuppressWarnings("unchecked")
        ServerCallHandler<PushChunk, PushResponse> handler = (ServerCallHandler<PushChunk, PushResponse>) m.getServerCallHandler();
        b.addMethod(ExchangeMethods.PUSH, handler);
      } else {
        b.addMethod(m);
      }
    }
    return b.build();
  }

  @Override
  public void join(JoinRequest request, StreamObserver<JoinResponse> response) {
    unary(response, () -> coordinator.admission().join(request));
  }

  @Override
  public void ready(ReadyRequest request, StreamObserver<ReadyResponse> response) {
    unary(
        response,
        () -> {
          coordinator.admission().ready(request.getWorkerId(), request.getDataDigest(), request.getTrainCount(), request.getSharedMemory());
          return ReadyResponse.getDefaultInstance();
        });
  }

  @Override
  public void leave(LeaveRequest request, StreamObserver<LeaveResponse> response) {
    unary(
        response,
        () -> {
          coordinator.admission().leave(request.getWorkerId(), request.getReason(), request.getFatal());
          return LeaveResponse.getDefaultInstance();
        });
  }

  @Override
  public void heartbeat(HeartbeatRequest request, StreamObserver<HeartbeatResponse> response) {
    unary(response, () -> HeartbeatResponse.newBuilder().setStep(coordinator.admission().heartbeat(request.getWorkerId())).build());
  }

  @Override
  public void pullWeights(PullRequest request, StreamObserver<PullChunk> response) {
    ServerCallStreamObserver<PullChunk> call = (ServerCallStreamObserver<PullChunk>) response;
    PullAnswer answer =
        new PullAnswer() {
          @Override
          public void answer(Pull pull) {
            send(response, pull);
          }

          @Override
          public void fail(JobRefusal refusal) {
            response.onError(RefusalStatus.of(refusal));
          }
        };
    call.setOnCancelHandler(() -> coordinator.cancelPull(answer));
    try {
      coordinator.pull(request, PULL_WAIT_MILLIS, answer);
    } catch (RuntimeException e) {
      response.onError(RefusalStatus.of(e));
    }
  }

  private void send(StreamObserver<PullChunk> response, Pull pull) {
    response.onNext(PullChunk.newBuilder().setHeader(header(pull, coordinator.tensorCount())).build());
    for (TensorChunk c : pull.weights()) {
      response.onNext(PullChunk.newBuilder().setChunk(c).build());
    }
    response.onCompleted();
  }

  /** The header of a pull's answer; {@code tensorCount} is the model's (said when weights follow). */
  static WeightsHeader header(Pull pull, int tensorCount) {
    return WeightsHeader.newBuilder()
        .setState(pull.state())
        .setStep(pull.step())
        .setShardFirst(pull.first())
        .setShardEnd(pull.end())
        .setTensorCount(pull.weights().isEmpty() ? 0 : tensorCount)
        .setWeightsInSharedMemory(pull.weightsInSharedMemory())
        .setWeightsVersion(pull.weightsVersion())
        .build();
  }

  @Override
  public StreamObserver<ExchangeRequest> exchange(StreamObserver<ExchangeReply> response) {
    ExchangeSession session = new ExchangeSession(coordinator, response);
    ((ServerCallStreamObserver<ExchangeReply>) response).setOnCancelHandler(session::cancelled);
    return session;
  }

  @Override
  public StreamObserver<PushChunk> pushGradients(StreamObserver<PushResponse> response) {
    return new PushCall<>(new PushCall.Pushes<PushSession>() {
      @Override
      public PushSession begin(io.gradflow.proto.PushHeader header) {
        PushSession session = coordinator.beginPush(header);
        if (session.inSharedMemory()) {
          try {
            session.readShared();
          } catch (RuntimeException e) {
            coordinator.abortPush(session);
            throw e;
          }
        }
        return session;
      }

      @Override
      public void addChunk(PushSession session, io.gradflow.proto.TensorChunk chunk) {
        session.addChunk(chunk);
      }

      @Override
      public void abort(PushSession session) {
        coordinator.abortPush(session);
      }

      @Override
      public PushResponse commit(PushSession session) {
        return coordinator.commitPush(session);
      }
    }, response);
  }

  private interface Call<T> {
    T run();
  }

  private static <T> void unary(StreamObserver<T> response, Call<T> call) {
    T result;
    try {
      result = call.run();
    } catch (RuntimeException e) {
      response.onError(RefusalStatus.of(e));
      return;
    }
    response.onNext(result);
    response.onCompleted();
  }
}
