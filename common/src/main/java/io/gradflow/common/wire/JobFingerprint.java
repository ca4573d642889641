package io.gradflow.common.wire;

import io.gradflow.proto.ModelSpec;
import io.gradflow.proto.TrainConfig;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The fingerprint a worker shows when it joins: SHA-256 over the model spec and the training
 * hyper-parameters, and a readable diff of two jobs for the refusal message.
 */
public final class JobFingerprint {
  private static final String PUSH_PRECISION = "push precision";
  private static final String STALENESS = "staleness";

  private JobFingerprint() {}

  /** Hex SHA-256 of the deterministic serialisation of (spec, config). */
  public static String of(ModelSpec spec, TrainConfig config) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(canonical(spec, config).getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Lists the fields that differ, as {@code "model: 784-256-128-10 (server) vs 784-128-10 (worker)"}.
   */
  public static List<String> differences(
      ModelSpec serverSpec, TrainConfig serverConfig, ModelSpec workerSpec, TrainConfig workerConfig) {
    List<String> diffs = new ArrayList<>();
    String[] a = fields(serverSpec, serverConfig);
    String[] b = fields(workerSpec, workerConfig);
    for (int i = 0; i < a.length; i++) {
      String[] fa = a[i].split("=", 2);
      String[] fb = b[i].split("=", 2);
      if (!fa[1].equals(fb[1])) {
        diffs.add(fa[0] + ": " + fa[1] + " (server) vs " + fb[1] + " (worker)");
      }
    }
    return diffs;
  }

  /**
   * The default push precision and staleness 0 are left out, so such jobs keep the fingerprint they
   * had before these options existed.
   */
  private static String canonical(ModelSpec spec, TrainConfig config) {
    List<String> fields = new ArrayList<>(List.of(fields(spec, config)));
    fields.remove(PUSH_PRECISION + "=" + PushPrecision.FP32.id());
    fields.remove(STALENESS + "=0");
    return String.join("\n", fields);
  }

  private static String[] fields(ModelSpec s, TrainConfig c) {
    return new String[] {
      "model=" + join(s.getLayerSizesList()),
      "activations=" + String.join(",", s.getActivationsList()),
      "init=" + s.getInit(),
      "init seed=" + Long.toUnsignedString(s.getSeed()),
      "dataset=" + c.getDataset(),
      "batch=" + c.getBatch(),
      "micro-shards=" + c.getMicroShards(),
      "lr=" + c.getLearningRate(),
      "momentum=" + c.getMomentum(),
      "weight decay=" + c.getWeightDecay(),
      "schedule=" + c.getSchedule(),
      "warm-up=" + c.getWarmupSteps(),
      "step size=" + c.getStepSize(),
      "gamma=" + c.getStepGamma(),
      "epochs=" + c.getEpochs(),
      "max steps=" + c.getMaxSteps(),
      "seed=" + Long.toUnsignedString(c.getSeed()),
      "kernels=" + c.getKernels(),
      // as sent (a value this version does not know must still show up in a refusal, not throw)
      PUSH_PRECISION + "=" + (c.getPushPrecision().isEmpty() ? PushPrecision.FP32.id() : c.getPushPrecision()),
      STALENESS + "=" + c.getStaleness()
    };
  }

  private static String join(List<Integer> sizes) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < sizes.size(); i++) {
      if (i > 0) {
        sb.append('-');
      }
      sb.append(sizes.get(i));
    }
    return sb.toString();
  }
}
