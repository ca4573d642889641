package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.gradflow.common.report.RunTiming;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The netns scaling test bed ({@code deploy/netns-bed.sh}, {@link NetnsBed}): two server hosts
 * and two worker hosts, each on its own 200 Mbit/s link to a bridge, run a job with sharded
 * servers started by hand ({@code server --servers 2 --server-index I}, {@code --range-server})
 * and end on the single-process weights, to the bit. Needs root and iproute2 ({@link
 * Prerequisites}: a failure under CI=true).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NetnsScalingIT {
  private static final int STEPS = 40;
  @TempDir Path tmp;

  @Test
  void twoShardedServersAndTwoWorkersOnRateLimitedHostsGiveTheSingleProcessWeights() throws Exception {
    Path reference = tmp.resolve("reference");
    List<String> refArgs = new ArrayList<>(List.of("train", "--workers", "0", "--out", reference.toString()));
    refArgs.addAll(Jobs.spiralsJob(STEPS));
    Jobs.Run ref = Jobs.run(refArgs);
    assertEquals(0, ref.exitCode(), ref.err());

    try (NetnsBed bed = NetnsBed.create(tmp)) {
      bed.up(2, 2, "200mbit");
      Path out = tmp.resolve("job");
      NetnsBed.Result job = bed.job(2, 2, out, Jobs.spiralsJob(STEPS), 90);
      assertEquals(0, job.code(), () -> "netns-bed.sh job -> " + job.out());
      assertEquals(STEPS, Jobs.summary(out).steps());
      assertEquals(Jobs.summary(reference).weightsSha256(), Jobs.summary(out).weightsSha256(),
          "two sharded servers on the bed must give the single-process weights");
      assertEquals(2, RunTiming.read(RunTiming.file(out)).servers().size(), "the job ran on two servers");
    }
  }
}
