package io.gradflow.ps;

import io.gradflow.common.wire.ExchangeMethods;
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
import io.gradflow.proto.RangeFollowerGrpc;
import io.gradflow.proto.RangeStateChunk;
import io.gradflow.proto.RangeStateHeader;
import io.gradflow.proto.RangeStateRequest;
import io.gradflow.proto.FollowerStatus;
import io.gradflow.proto.FollowerStatusRequest;
import io.gradflow.proto.SeedChunk;
import io.gradflow.proto.SeedResponse;
import io.gradflow.proto.ReadyRequest;
import io.gradflow.proto.ReadyResponse;
import io.gradflow.proto.TensorChunk;
import io.gradflow.proto.WeightsHeader;
import io.gradflow.proto.EarlierWeightsChunk;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

/**
 * The gRPC face of a {@link RangeFollower}: the workers' PullWeights and PushGradients for its
 * range, the coordinator's RangeState, Seed and Status; join, ready, heartbeat and leave belong to the coordinator
 * and are refused here.
 */
final class FollowerService extends ParameterServerGrpc.ParameterServerImplBase {
  private final RangeFollower follower;
  private final int index;
  private final WireCounter wire;

  FollowerService(RangeFollower follower, int index, WireCounter wire) {
    this.follower = follower;
    this.index = index;
    this.wire = wire;
  }

  /** The ParameterServer service with zero-copy push parsing (as {@link ParameterService#definition()}). */
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

  /** The RangeFollower service: the coordinator reads this follower's state. */
  ServerServiceDefinition stateDefinition() {
    return new RangeFollowerGrpc.RangeFollowerImplBase() {
      @Override
      public void rangeState(RangeStateRequest request, StreamObserver<RangeStateChunk> response) {
        RangeFollower.StateAnswer answer = new RangeFollower.StateAnswer() {
          @Override
          public void answer(RangeFollower.State s) {
            response.onNext(RangeStateChunk.newBuilder().setHeader(RangeStateHeader.newBuilder()
                .setVersion(s.version()).setOptimizerStarted(s.optimizerStarted())
                .setBytesIn(wire.inboundBytes()).setBytesOut(wire.outboundBytes())
                .setReduceNanos(follower.reduceNanos()).setUpdateNanos(follower.updateNanos())
                .setSteps(follower.applied())).build());
            for (TensorChunk c : s.weights()) {
              response.onNext(RangeStateChunk.newBuilder().setWeights(c).build());
            }
            for (TensorChunk c : s.velocity()) {
              response.onNext(RangeStateChunk.newBuilder().setVelocity(c).build());
            }
            for (EarlierWeightsChunk c : s.earlier()) {
              response.onNext(RangeStateChunk.newBuilder().setEarlier(c).build());
            }
            response.onCompleted();
          }

          @Override
          public void fail(JobRefusal refusal) {
            response.onError(RefusalStatus.of(refusal));
          }
        };
        try {
          follower.state(request.getVersion(), request.getLast(), answer);
        } catch (RuntimeException e) {
          response.onError(RefusalStatus.of(e));
        }
      }

      @Override
      public StreamObserver<SeedChunk> seed(StreamObserver<SeedResponse> response) {
        FollowerSeed seed = new FollowerSeed(follower.network(), follower.range());
        return new StreamObserver<>() {
          private boolean failed;

          @Override
          public void onNext(SeedChunk chunk) {
            if (failed) {
              return;
            }
            try {
              seed.add(chunk);
            } catch (RuntimeException e) {
              failed = true;
              response.onError(RefusalStatus.of(e));
            }
          }

          @Override
          public void onError(Throwable t) {
            failed = true; // nothing was taken
          }

          @Override
          public void onCompleted() {
            if (failed) {
              return;
            }
            long before;
            try {
              before = seed.seed(follower);
            } catch (RuntimeException e) {
              response.onError(RefusalStatus.of(e));
              return;
            }
            response.onNext(SeedResponse.newBuilder().setAppliedBefore(before).build());
            response.onCompleted();
          }
        };
      }

      @Override
      public void status(FollowerStatusRequest request, StreamObserver<FollowerStatus> response) {
        response.onNext(FollowerStatus.newBuilder().setGeneration(follower.generation()).setApplied(follower.applied()).build());
        response.onCompleted();
      }
    }.bindService();
  }

  private io.grpc.StatusRuntimeException notHere(String call) {
    return Status.FAILED_PRECONDITION.withDescription(call + ": this is server " + index
        + ", a follower that owns one range of the parameters; join the coordinator (server 0)").asRuntimeException();
  }

  @Override
  public void join(JoinRequest request, StreamObserver<JoinResponse> response) {
    response.onError(notHere("join"));
  }

  @Override
  public void ready(ReadyRequest request, StreamObserver<ReadyResponse> response) {
    response.onError(notHere("ready"));
  }

  @Override
  public void heartbeat(HeartbeatRequest request, StreamObserver<HeartbeatResponse> response) {
    response.onError(notHere("heartbeat"));
  }

  @Override
  public void leave(LeaveRequest request, StreamObserver<LeaveResponse> response) {
    response.onError(notHere("leave"));
  }

  @Override
  public void pullWeights(PullRequest request, StreamObserver<PullChunk> response) {
    PullAnswer answer = new PullAnswer() {
      @Override
      public void answer(Pull pull) {
        response.onNext(PullChunk.newBuilder().setHeader(WeightsHeader.newBuilder()
            .setState(pull.state())
            .setStep(pull.step())
            .setTensorCount(pull.weights().isEmpty() ? 0 : follower.range().from().length)
            .setWeightsVersion(pull.weightsVersion())).build());
        for (TensorChunk c : pull.weights()) {
          response.onNext(PullChunk.newBuilder().setChunk(c).build());
        }
        response.onCompleted();
      }

      @Override
      public void fail(JobRefusal refusal) {
        response.onError(RefusalStatus.of(refusal));
      }
    };
    if (response instanceof ServerCallStreamObserver<PullChunk> call) {
      call.setOnCancelHandler(() -> follower.cancelPull(answer)); // a pull waiting for the next version, given up
    }
    try {
      follower.pull(request.getStep(), answer);
    } catch (RuntimeException e) {
      response.onError(RefusalStatus.of(e));
    }
  }

  @Override
  public StreamObserver<PushChunk> pushGradients(StreamObserver<PushResponse> response) {
    return new PushCall<>(new PushCall.Pushes<FollowerPush>() {
      @Override
      public FollowerPush begin(io.gradflow.proto.PushHeader header) {
        return follower.beginPush(header);
      }

      @Override
      public void addChunk(FollowerPush session, TensorChunk chunk) {
        session.addChunk(chunk);
      }

      @Override
      public void abort(FollowerPush session) {
        follower.abortPush(session);
      }

      @Override
      public PushResponse commit(FollowerPush session) {
        return follower.commitPush(session);
      }
    }, response);
  }
}
