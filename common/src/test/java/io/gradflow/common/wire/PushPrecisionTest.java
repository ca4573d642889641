package io.gradflow.common.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.ModelSpecs;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.proto.TrainConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

class PushPrecisionTest {
  private final io.gradflow.proto.ModelSpec spec = ModelSpecs.toProto(ModelSpec.parse("2-5-3", "tanh", "", 5));

  private static TrainingConfig config(PushPrecision p) {
    return new TrainingConfig("spirals", 30, 2, 0.1, 0.9, 0, LearningRateSchedule.Kind.CONSTANT, 0, 0, 0.1, 1, 5, 9,
        "ejml", p);
  }

  @Test
  void parsesItsNamesAndRefusesOthers() {
    assertEquals(PushPrecision.BF16, PushPrecision.parse("bf16"));
    assertEquals(PushPrecision.BF16, PushPrecision.parse("BF16"));
    assertEquals(PushPrecision.FP32, PushPrecision.parse("fp32"));
    assertEquals(PushPrecision.FP32, PushPrecision.parse(""), "a configuration from before the setting");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PushPrecision.parse("fp16"));
    assertEquals("push precision 'fp16': expected fp32 or bf16", e.getMessage());
  }

  @Test
  void travelsWithTheJobConfiguration() {
    for (PushPrecision p : PushPrecision.values()) {
      assertEquals(p, TrainingConfig.fromProto(config(p).toProto()).pushPrecision());
    }
    TrainConfig old = config(PushPrecision.FP32).toProto().toBuilder().clearPushPrecision().build();
    assertEquals(PushPrecision.FP32, TrainingConfig.fromProto(old).pushPrecision());
  }

  @Test
  void isPartOfTheFingerprintAndShowsInTheDifferences() {
    TrainConfig fp32 = config(PushPrecision.FP32).toProto();
    TrainConfig bf16 = config(PushPrecision.BF16).toProto();
    assertNotEquals(JobFingerprint.of(spec, fp32), JobFingerprint.of(spec, bf16));
    // fp32 jobs keep the fingerprint of a configuration without the field (older workers, checkpoints)
    assertEquals(JobFingerprint.of(spec, fp32), JobFingerprint.of(spec, fp32.toBuilder().clearPushPrecision().build()));
    List<String> diffs = JobFingerprint.differences(spec, bf16, spec, fp32);
    assertEquals(List.of("push precision: bf16 (server) vs fp32 (worker)"), diffs);
    assertTrue(JobFingerprint.differences(spec, bf16, spec, bf16.toBuilder().setPushPrecision("fp8").build())
        .contains("push precision: bf16 (server) vs fp8 (worker)"));
  }

  @Test
  void stalenessIsPartOfTheFingerprintAndZeroKeepsTheOldOne() throws Exception {
    TrainConfig sync = config(PushPrecision.FP32).toProto();
    TrainConfig stale = config(PushPrecision.FP32).withStaleness(1).toProto();
    assertNotEquals(JobFingerprint.of(spec, sync), JobFingerprint.of(spec, stale));
    assertEquals(List.of("staleness: 1 (server) vs 0 (worker)"), JobFingerprint.differences(spec, stale, spec, sync));
    // the text jobs were fingerprinted with before staleness existed
    String before = String.join("\n", "model=2-5-3", "activations=tanh", "init=" + spec.getInit(), "init seed=5",
        "dataset=spirals", "batch=30", "micro-shards=2", "lr=0.1", "momentum=0.9", "weight decay=0.0",
        "schedule=constant", "warm-up=0", "step size=0", "gamma=0.1", "epochs=1", "max steps=5", "seed=9", "kernels=ejml");
    byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(before.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertEquals(java.util.HexFormat.of().formatHex(digest), JobFingerprint.of(spec, sync));
  }
}
