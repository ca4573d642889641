package io.gradflow.common.wire;

import io.gradflow.proto.ParameterServerGrpc;
import io.gradflow.proto.PullChunk;
import io.gradflow.proto.PullRequest;
import io.gradflow.proto.PushChunk;
import io.gradflow.proto.PushResponse;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;

/**
 * The two calls that carry tensors, with the receiving side's messages parsed by a {@link
 * ZeroCopyMarshaller}: the server reads a push's chunks, the worker the weights' chunks, from the
 * transport's buffers. The wire format is the generated one; only the parsing differs.
 */
public final class ExchangeMethods {
  /** The server's parser of push chunks: release each after staging it. */
  public static final ZeroCopyMarshaller<PushChunk> PUSH_CHUNKS = new ZeroCopyMarshaller<>(PushChunk.getDefaultInstance());
  /** The worker's parser of weight chunks: release each after copying it into the network. */
  public static final ZeroCopyMarshaller<PullChunk> PULL_CHUNKS = new ZeroCopyMarshaller<>(PullChunk.getDefaultInstance());

  /** PushGradients as the server binds it. */
  public static final MethodDescriptor<PushChunk, PushResponse> PUSH =
      ParameterServerGrpc.getPushGradientsMethod().toBuilder(PUSH_CHUNKS, ProtoUtils.marshaller(PushResponse.getDefaultInstance())).build();

  /** PullWeights as the worker calls it. */
  public static final MethodDescriptor<PullRequest, PullChunk> PULL =
      ParameterServerGrpc.getPullWeightsMethod().toBuilder(ProtoUtils.marshaller(PullRequest.getDefaultInstance()), PULL_CHUNKS).build();

  private ExchangeMethods() {}
}
