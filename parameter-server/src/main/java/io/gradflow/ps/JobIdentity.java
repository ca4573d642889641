package io.gradflow.ps;

import io.gradflow.common.model.ModelSpecs;
import io.gradflow.common.model.Network;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.wire.JobFingerprint;
import io.gradflow.proto.JoinRequest;
import io.gradflow.proto.JoinResponse;
import io.gradflow.proto.ModelSpec;
import io.gradflow.proto.TrainConfig;
import java.util.List;

/**
 * What makes a worker part of this job and not another: the model spec and hyper-parameters as
 * the server sends them, and their fingerprint, which a joining worker's must match.
 */
final class JobIdentity {
  private final ModelSpec spec;
  private final TrainConfig config;
  private final String fingerprint;

  JobIdentity(Network net, TrainingConfig config) {
    this.spec = ModelSpecs.toProto(net.spec());
    this.config = config.toProto();
    this.fingerprint = JobFingerprint.of(spec, this.config);
  }

  String fingerprint() {
    return fingerprint;
  }

  /**
   * How a joining worker's job differs from this one ("model: 2-16-3 (server) vs 2-8-3
   * (worker)"; "; " between fields), or null when it is the same job or the worker brings none.
   */
  String differences(JoinRequest request) {
    if (request.getFingerprint().isEmpty() || request.getFingerprint().equals(fingerprint)) {
      return null;
    }
    List<String> diffs = JobFingerprint.differences(spec, config, request.getSpec(), request.getConfig());
    return diffs.isEmpty() ? "fingerprint " + request.getFingerprint() + " vs " + fingerprint : String.join("; ", diffs);
  }

  /** The answer to an admitted join: the worker's id and rank, the job, and the step it starts from. */
  JoinResponse admitted(Member m, long nextStep) {
    return JoinResponse.newBuilder()
        .setWorkerId(m.id)
        .setRank(m.rank)
        .setSpec(spec)
        .setConfig(config)
        .setFingerprint(fingerprint)
        .setNextStep(nextStep)
        .build();
  }
}
