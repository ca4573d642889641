package io.gradflow.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.gradflow.common.data.SyntheticData;
import io.gradflow.common.data.TrainTestSplit;
import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.optim.LearningRateSchedule;
import io.gradflow.common.train.TrainingConfig;
import io.gradflow.common.train.TrainingListener;
import io.gradflow.proto.JoinRequest;
import io.gradflow.ps.ParameterServer;
import io.gradflow.ps.ServerJob;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A worker that comes to a server whose job has finished is told so at once (JOB_OVER), instead of
 * being refused as a stranger or retrying as if the server were unreachable.
 */
class LateWorkerTest {
  private static final TrainTestSplit DATA = SyntheticData.spirals(3, 200, 0.2, 42);

  private static Worker worker(String serverName, String name) {
    ManagedChannel channel = InProcessChannelBuilder.forName(serverName).build();
    return new Worker(channel, new Worker.Options(name, JoinRequest.getDefaultInstance(), c -> DATA.train(),
        Duration.ofSeconds(20), () -> 0, line -> {}, Duration.ofSeconds(60), Duration.ofMillis(500)));
  }

  @Test
  void aWorkerThatJoinsAFinishedJobIsToldTheJobIsOverAtOnce() throws Exception {
    ModelSpec spec = ModelSpec.parse("2-8-3", "tanh", "", 5);
    TrainingConfig config =
        new TrainingConfig("spirals", 16, 4, 0.1, 0.9, 1e-4, LearningRateSchedule.Kind.COSINE, 3, 0, 0.1, 2, 5, 9, "ejml");
    String name = InProcessServerBuilder.generateName();
    ParameterServer server = new ParameterServer(InProcessServerBuilder.forName(name).directExecutor(),
        new ServerJob(Network.initialize(spec), config, DATA, 1), new TrainingListener() {});
    server.start();
    try {
      assertEquals(5, worker(name, "on-time").run().lastStep());
      assertEquals(null, server.awaitJob(1000));
      WorkerFailure late = assertTimeoutPreemptively(Duration.ofSeconds(30),
          () -> assertThrows(WorkerFailure.class, () -> worker(name, "late").run()));
      assertEquals(WorkerFailure.Kind.JOB_OVER, late.kind(), late.getMessage());
      assertEquals("the job is over: it finished after step 5", late.getMessage());
    } finally {
      server.stop();
    }
  }
}
