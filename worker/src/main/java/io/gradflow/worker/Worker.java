package io.gradflow.worker;

import io.gradflow.common.data.Dataset;
import io.gradflow.common.data.SamplingPlan;
import io.gradflow.common.kernels.Kernels;
import io.gradflow.common.model.ModelSpecs;
import io.gradflow.common.model.Network;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.train.ShardGradients;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.wire.TensorChunks;
import io.gradflow.proto.JoinRequest;
import io.gradflow.proto.JoinResponse;
import io.gradflow.proto.LeaveRequest;
import io.gradflow.proto.ParameterServerGrpc;
import io.gradflow.proto.PullChunk;
import io.gradflow.proto.PullRequest;
import io.gradflow.proto.PushChunk;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.PushResponse;
import io.gradflow.proto.ReadyRequest;
import io.gradflow.proto.TensorChunk;
import io.gradflow.proto.WeightsHeader;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A worker: joins the parameter server, loads the job's data set, then loops: pull the weights of
 * the next step with the micro-shards it must compute, compute their gradients, push their exact
 * fixed-point sum. Every call has a deadline. It returns when the server says the job is done.
 */
public final class Worker {
  /** What the worker needs besides the server: its data, its name, its limits, its log. */
  public record Options(
      String name,
      JoinRequest join,
      Function<TrainingConfig, Dataset> trainingData,
      Duration rpcTimeout,
      java.util.function.LongSupplier pushDelayMillis,
      Consumer<String> log) {}

  /** What the worker did. */
  public record Result(int rank, long stepsComputed, long lastStep) {}

  private final ParameterServerGrpc.ParameterServerBlockingStub blocking;
  private final ParameterServerGrpc.ParameterServerStub async;
  private final Options options;
  private String workerId;
  private int rank = -1;

  public Worker(Channel channel, Options options) {
    this.blocking = ParameterServerGrpc.newBlockingStub(channel);
    this.async = ParameterServerGrpc.newStub(channel);
    this.options = options;
  }

  public Result run() {
    JoinResponse joined = join();
    try {
      return train(joined);
    } catch (RuntimeException e) {
      leave(e.getMessage() == null ? e.toString() : e.getMessage());
      throw e;
    }
  }

  private JoinResponse join() {
    JoinRequest request = options.join().toBuilder().setWorkerName(options.name()).build();
    try {
      JoinResponse r = blocking.withDeadlineAfter(deadlineMillis(), TimeUnit.MILLISECONDS).join(request);
      workerId = r.getWorkerId();
      rank = r.getRank();
      options.log().accept("joined as rank " + rank + " at step " + r.getNextStep());
      return r;
    } catch (StatusRuntimeException e) {
      throw failure("join", e);
    }
  }

  private Result train(JoinResponse joined) {
    TrainingConfig config = TrainingConfig.fromProto(joined.getConfig());
    Network net = new Network(ModelSpecs.fromProto(joined.getSpec()));
    Dataset train = options.trainingData().apply(config);
    try {
      blocking
          .withDeadlineAfter(deadlineMillis(), TimeUnit.MILLISECONDS)
          .ready(
              ReadyRequest.newBuilder()
                  .setWorkerId(workerId)
                  .setDataDigest(train.sha256())
                  .setTrainCount(train.count())
                  .build());
    } catch (StatusRuntimeException e) {
      throw failure("ready", e);
    }
    SamplingPlan plan = new SamplingPlan(train.count(), config.batch(), config.microShards(), config.seed());
    ShardGradients shards = new ShardGradients(net, Kernels.byName(config.kernels()), plan, train);
    ExactGradientSum sum = new ExactGradientSum(net);
    double[] shardLoss = new double[config.microShards()];
    long want = joined.getNextStep();
    long computed = 0;
    while (true) {
      WeightsHeader header = pull(want, net);
      switch (header.getState()) {
        case NOT_YET -> {}
        case NO_WORK -> want = header.getStep() + 1;
        case DONE -> {
          leave("");
          options.log().accept("job done after step " + header.getStep());
          return new Result(rank, computed, header.getStep());
        }
        case READY -> {
          long step = header.getStep();
          sum.clear();
          shards.compute(net, step, header.getShardFirst(), header.getShardEnd(), sum, shardLoss);
          sleep(options.pushDelayMillis().getAsLong());
          push(step, header.getShardFirst(), header.getShardEnd(), sum, shardLoss);
          computed++;
          want = step + 1;
        }
        default -> throw new WorkerFailure(WorkerFailure.Kind.FAILED, "unexpected pull state " + header.getState());
      }
    }
  }

  /** Pulls step {@code >= want}; on READY the weights are written into {@code net}. */
  private WeightsHeader pull(long want, Network net) {
    try {
      Iterator<PullChunk> it =
          blocking
              .withDeadlineAfter(deadlineMillis(), TimeUnit.MILLISECONDS)
              .pullWeights(PullRequest.newBuilder().setWorkerId(workerId).setStep(want).build());
      if (!it.hasNext()) {
        throw new WorkerFailure(WorkerFailure.Kind.FAILED, "the server sent an empty pull answer");
      }
      WeightsHeader header = it.next().getHeader();
      long[] received = new long[net.tensorCount()];
      while (it.hasNext()) {
        TensorChunk c = it.next().getChunk();
        int t = c.getTensor();
        if (t < 0 || t >= net.tensorCount() || c.getOffset() + c.getData().size() / 4 > net.tensor(t).length) {
          throw new WorkerFailure(WorkerFailure.Kind.FAILED, "the server sent a weights chunk that does not fit the model");
        }
        TensorChunks.readFloats(c, net.tensor(t));
        received[t] += c.getData().size() / 4;
      }
      if (header.getState() == WeightsHeader.State.READY) {
        for (int t = 0; t < received.length; t++) {
          if (received[t] != net.tensor(t).length) {
            throw new WorkerFailure(
                WorkerFailure.Kind.FAILED,
                "weights of step " + header.getStep() + " arrived incomplete: " + Network.tensorName(t) + " has "
                    + received[t] + " of " + net.tensor(t).length + " elements");
          }
        }
      }
      return header;
    } catch (StatusRuntimeException e) {
      throw failure("pull", e);
    }
  }

  private void push(long step, int first, int end, ExactGradientSum sum, double[] shardLoss) {
    PushHeader.Builder header =
        PushHeader.newBuilder()
            .setWorkerId(workerId)
            .setStep(step)
            .setShardFirst(first)
            .setShardEnd(end)
            .setEncoding(PushHeader.Encoding.FIXED64);
    for (int m = first; m < end; m++) {
      header.addShardLoss(shardLoss[m]);
    }
    CompletableFuture<PushResponse> done = new CompletableFuture<>();
    StreamObserver<PushChunk> out =
        async
            .withDeadlineAfter(deadlineMillis(), TimeUnit.MILLISECONDS)
            .pushGradients(
                new StreamObserver<>() {
                  @Override
                  public void onNext(PushResponse r) {
                    done.complete(r);
                  }

                  @Override
                  public void onError(Throwable t) {
                    done.completeExceptionally(t);
                  }

                  @Override
                  public void onCompleted() {
                    done.complete(PushResponse.getDefaultInstance());
                  }
                });
    out.onNext(PushChunk.newBuilder().setHeader(header).build());
    // Last layer first: its gradient is the first one backward produces.
    for (int t = sum.tensorCount() - 1; t >= 0; t--) {
      for (TensorChunk c : TensorChunks.ofLongs(t, sum.tensor(t))) {
        out.onNext(PushChunk.newBuilder().setChunk(c).build());
      }
    }
    out.onCompleted();
    try {
      done.get(deadlineMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof StatusRuntimeException sre) {
        throw failure("push", sre);
      }
      throw new WorkerFailure(WorkerFailure.Kind.FAILED, "push of step " + step + " failed: " + cause, cause);
    } catch (TimeoutException e) {
      throw new WorkerFailure(WorkerFailure.Kind.UNAVAILABLE, "push of step " + step + " got no answer in time");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WorkerFailure(WorkerFailure.Kind.FAILED, "interrupted");
    }
  }

  private void leave(String reason) {
    if (workerId == null) {
      return;
    }
    try {
      blocking
          .withDeadlineAfter(5, TimeUnit.SECONDS)
          .leave(LeaveRequest.newBuilder().setWorkerId(workerId).setReason(reason).build());
    } catch (StatusRuntimeException e) {
      // the server is gone or already knows; leaving is best effort
    }
  }

  private long deadlineMillis() {
    return options.rpcTimeout().toMillis();
  }

  private static void sleep(long millis) {
    if (millis <= 0) {
      return;
    }
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Maps a failed call to the failure the user sees. */
  private WorkerFailure failure(String call, StatusRuntimeException e) {
    Status.Code code = e.getStatus().getCode();
    String desc = e.getStatus().getDescription() == null ? code.toString() : e.getStatus().getDescription();
    return switch (code) {
      case UNAVAILABLE, DEADLINE_EXCEEDED ->
          new WorkerFailure(WorkerFailure.Kind.UNAVAILABLE, "parameter server unreachable (" + call + "): " + desc, e);
      case FAILED_PRECONDITION, RESOURCE_EXHAUSTED, PERMISSION_DENIED, UNAUTHENTICATED ->
          new WorkerFailure(WorkerFailure.Kind.REFUSED, "refused by the parameter server (" + call + "): " + desc, e);
      default -> new WorkerFailure(WorkerFailure.Kind.FAILED, call + " failed: " + code + ": " + desc, e);
    };
  }
}
