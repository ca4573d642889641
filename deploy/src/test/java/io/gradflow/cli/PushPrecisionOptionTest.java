package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code --push-precision}: a bad value, or bf16 without worker processes, is a usage error. */
class PushPrecisionOptionTest {
  @Test
  void anUnknownPrecisionIsAUsageError() {
    Jobs.Run r = Jobs.run(List.of("train", "--workers", "2", "--push-precision", "fp16", "--dataset", "spirals"));
    assertEquals(ExitCode.USAGE.code(), r.exitCode(), r.err());
    assertTrue(r.err().contains("--push-precision fp16: expected fp32 or bf16"), r.err());
  }

  @Test
  void bf16WithoutWorkerProcessesIsAUsageErrorNotIgnored() {
    Jobs.Run train = Jobs.run(List.of("train", "--workers", "0", "--push-precision", "bf16", "--dataset", "spirals"));
    assertEquals(ExitCode.USAGE.code(), train.exitCode(), train.err());
    assertTrue(train.err().contains("--push-precision bf16 needs worker processes"), train.err());
    Jobs.Run bench = Jobs.run(List.of("bench", "--workers", "0", "--push-precision", "bf16"));
    assertEquals(ExitCode.USAGE.code(), bench.exitCode(), bench.err());
    assertTrue(bench.err().contains("--push-precision bf16 needs worker processes"), bench.err());
  }
}
