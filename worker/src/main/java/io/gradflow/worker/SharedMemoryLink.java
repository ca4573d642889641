package io.gradflow.worker;

import io.gradflow.common.model.Network;
import io.gradflow.common.shm.ExchangeFrames;
import io.gradflow.common.shm.SharedPushArea;
import io.gradflow.common.shm.SharedWeights;
import io.gradflow.proto.JoinResponse;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * A worker's end of the server's shared-memory data plane: the mapped weights file and its own
 * push file, and the server's exchange socket beside them when it has one. Made at a join when the
 * server offers the plane and this worker can map its files and finds the server's token in them,
 * which proves it runs on the server's host; otherwise the worker keeps the socket for everything.
 */
record SharedMemoryLink(SharedWeights weights, SharedPushArea push, Path exchangeSocket) {

  /** The link the join answer {@code r} offers, or null (said on {@code log} when it fails). */
  static SharedMemoryLink attach(JoinResponse r, Network net, Consumer<String> log) {
    if (r.getSharedMemoryDir().isEmpty()) {
      return null;
    }
    int[] lengths = net.tensorLengths();
    Path dir = Path.of(r.getSharedMemoryDir());
    try {
      SharedWeights weights = SharedWeights.open(dir.resolve(SharedWeights.FILE_NAME), lengths, r.getSharedMemoryToken());
      SharedPushArea push = SharedPushArea.open(SharedPushArea.fileFor(dir, r.getWorkerId()), lengths, r.getSharedMemoryToken());
      Path socket = dir.resolve(ExchangeFrames.SOCKET_NAME);
      boolean hasSocket = java.nio.file.Files.exists(socket);
      log.accept("weights and pushes go through shared memory (" + dir + ")"
          + (hasSocket ? ", requests through its exchange socket" : ", requests on the Exchange call"));
      return new SharedMemoryLink(weights, push, hasSocket ? socket : null);
    } catch (IOException | RuntimeException e) {
      // another host, another user, or a server that has gone: the socket carries everything
      log.accept("the server's shared memory is not reachable from here (" + e.getMessage() + "); weights and pushes go through the socket");
      return null;
    }
  }
}
