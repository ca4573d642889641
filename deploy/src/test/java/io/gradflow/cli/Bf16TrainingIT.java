package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real JVMs: a job with {@code --push-precision bf16} and two workers trains end to end, is
 * deterministic for its worker count, learns about as well as the exact job, and (as documented)
 * does not give the exact job's bits.
 */
class Bf16TrainingIT {
  @TempDir Path tmp;

  private Path train(String name, String precision) {
    Path out = tmp.resolve(name);
    List<String> args = new ArrayList<>(List.of("train", "--workers", "2", "--out", out.toString(),
        "--push-precision", precision, "--warmup-passes", "0"));
    args.addAll(Jobs.spiralsJob(60));
    Jobs.Run r = Jobs.run(args);
    assertEquals(0, r.exitCode(), r.err() + r.out());
    return out;
  }

  @Test
  void twoWorkersTrainInBf16DeterministicallyAndAboutAsWellAsExact() throws Exception {
    Path bf16 = train("bf16", "bf16");
    assertEquals("bf16", Jobs.summary(bf16).pushPrecision());
    assertEquals(60, Jobs.summary(bf16).steps());
    Path again = train("bf16-again", "bf16");
    assertEquals(Jobs.summary(bf16).weightsSha256(), Jobs.summary(again).weightsSha256(),
        "the same worker count and assignment must give the same bits");
    Path exact = train("fp32", "fp32");
    assertEquals("fp32", Jobs.summary(exact).pushPrecision());
    assertNotEquals(Jobs.summary(exact).weightsSha256(), Jobs.summary(bf16).weightsSha256(),
        "bf16 pushes round the gradient: the bits differ from the exact job's");
    double accBf16 = Jobs.summary(bf16).testAccuracy();
    double accExact = Jobs.summary(exact).testAccuracy();
    double lossBf16 = Jobs.summary(bf16).testLoss();
    double lossExact = Jobs.summary(exact).testLoss();
    assertTrue(Math.abs(accBf16 - accExact) <= 0.05, "accuracy bf16 " + accBf16 + " vs fp32 " + accExact);
    assertTrue(Math.abs(lossBf16 - lossExact) <= 0.05 * lossExact, "test loss bf16 " + lossBf16 + " vs fp32 " + lossExact);
  }
}
