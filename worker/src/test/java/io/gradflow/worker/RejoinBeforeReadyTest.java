package io.gradflow.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import io.gradflow.ps.ServerPolicy;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * A worker declared lost between its join and its ready (its data loaded slower than the worker
 * timeout, heartbeats starved on a busy machine) is asked to join again, does, and the job ends.
 */
class RejoinBeforeReadyTest {
  private static final TrainTestSplit DATA = SyntheticData.spirals(3, 200, 0.2, 42);

  @Test
  void aWorkerLostBeforeItsReadyJoinsAgainAndFinishes() throws Exception {
    ModelSpec spec = ModelSpec.parse("2-8-3", "tanh", "", 5);
    TrainingConfig config =
        new TrainingConfig("spirals", 16, 4, 0.1, 0.9, 1e-4, LearningRateSchedule.Kind.COSINE, 3, 0, 0.1, 2, 5, 9, "ejml");
    String name = InProcessServerBuilder.generateName();
    List<String> events = new CopyOnWriteArrayList<>();
    ParameterServer server = new ParameterServer(InProcessServerBuilder.forName(name).directExecutor(),
        new ServerJob(Network.initialize(spec), config, DATA, 1), new ServerPolicy(1, 0, 500, 0, null),
        new TrainingListener() {
          @Override
          public void onEvent(String line) {
            events.add(line);
          }
        });
    server.start();
    ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
    try {
      // the first load takes longer than the worker timeout, and no heartbeat comes meanwhile
      Worker w = new Worker(channel, new Worker.Options("slow", JoinRequest.getDefaultInstance(), c -> {
        try {
          Thread.sleep(2000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return DATA.train();
      }, Duration.ofSeconds(20), () -> 0, line -> {}, Duration.ofSeconds(60), Duration.ofSeconds(30)));
      assertEquals(5, w.run().lastStep());
      assertTrue(events.stream().anyMatch(e -> e.startsWith("left: ")), events.toString());
    } finally {
      channel.shutdownNow();
      server.stop();
    }
  }
}
