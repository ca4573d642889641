package io.gradflow.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The job check runs at every join: a worker whose server is replaced, at the same address, by one
 * of another job joins it again, sees the other job, leaves it and ends with its check's failure;
 * it never trains the other job.
 */
class RejoinAnotherJobTest {
  private static final TrainTestSplit DATA = SyntheticData.spirals(3, 200, 0.2, 42);
  private static final TrainingConfig CONFIG =
      new TrainingConfig("spirals", 16, 4, 0.1, 0.9, 1e-4, LearningRateSchedule.Kind.COSINE, 3, 0, 0.1, 2, 5, 9, "ejml");

  private static ParameterServer server(String name, String sizes, List<String> events) throws Exception {
    ParameterServer s = new ParameterServer(InProcessServerBuilder.forName(name).directExecutor(),
        new ServerJob(Network.initialize(ModelSpec.parse(sizes, "tanh", "", 5)), CONFIG, DATA, 2), // waits for 2: never starts
        new ServerPolicy(1, 0, 60_000, 0, null), new TrainingListener() {
          @Override
          public void onEvent(String line) {
            events.add(line);
          }
        });
    s.start();
    return s;
  }

  @Test
  void aRestartedServerOfAnotherJobIsLeftAtTheRejoin() throws Exception {
    String name = InProcessServerBuilder.generateName();
    List<String> first = new CopyOnWriteArrayList<>();
    List<String> second = new CopyOnWriteArrayList<>();
    List<String> seen = new CopyOnWriteArrayList<>();
    ParameterServer a = server(name, "2-8-3", first);
    ParameterServer b = null;
    ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
    try {
      Worker w = new Worker(channel, new Worker.Options("w", JoinRequest.getDefaultInstance(), c -> DATA.train(),
          Duration.ofSeconds(20), () -> 0, line -> {}, Duration.ofSeconds(60), Duration.ofMillis(100)))
          .jobCheck((spec, config) -> {
            seen.add(spec.sizesText());
            if (!spec.sizesText().equals("2-8-3")) {
              throw new IllegalStateException("another job: " + spec.sizesText());
            }
          });
      CompletableFuture<Worker.Result> run = CompletableFuture.supplyAsync(w::run);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (first.stream().noneMatch(e -> e.startsWith("joined: ")) && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      a.stop();
      b = server(name, "2-9-3", second);
      ExecutionException e = assertThrows(ExecutionException.class, () -> run.get(60, TimeUnit.SECONDS));
      assertEquals("another job: 2-9-3", e.getCause().getMessage());
      assertEquals(List.of("2-8-3", "2-9-3"), seen);
      assertTrue(second.stream().anyMatch(l -> l.startsWith("left: ")), second.toString());
    } finally {
      channel.shutdownNow();
      if (b != null) {
        b.stop();
      }
    }
  }
}
