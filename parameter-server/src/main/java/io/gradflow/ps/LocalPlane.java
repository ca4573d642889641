package io.gradflow.ps;

import io.gradflow.common.model.Network;
import io.gradflow.common.shm.SharedPushArea;
import io.gradflow.common.wire.PushPrecision;
import io.gradflow.proto.JoinResponse;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * The data plane for the workers on the server's host, as the coordinator uses it under its lock:
 * the shared-memory files ({@link SharedMemoryPlane}: the weights file and a push file per worker)
 * and the exchange socket in their directory ({@link ExchangeSocket}) that carries those workers'
 * pulls and pushes. A worker gets its push file at its join and is told where the plane is; it
 * loses the file when it leaves. A job that pushes bf16 publishes weights here but gives no push
 * files (they hold fixed-point sums only), so its workers push through the socket.
 */
final class LocalPlane implements AutoCloseable {
  private final SharedMemoryPlane files;
  /** Null when the socket could not be made: the local workers then use the gRPC Exchange call. */
  private final ExchangeSocket socket;
  private final boolean pushFiles;

  private LocalPlane(SharedMemoryPlane files, ExchangeSocket socket, boolean pushFiles) {
    this.files = files;
    this.socket = socket;
    this.pushFiles = pushFiles;
  }

  /**
   * The plane under {@code root} (normally {@code /dev/shm}) for tensors of {@code lengths}
   * elements, or null (said on {@code log}) when its files cannot be made there.
   */
  static LocalPlane open(Path root, int[] lengths, int staleness, PushPrecision precision, StepCoordinator coordinator,
      Consumer<String> log) {
    SharedMemoryPlane files = SharedMemoryPlane.create(root, lengths, staleness, log);
    if (files == null) {
      return null;
    }
    return new LocalPlane(files, ExchangeSocket.open(files.dir(), coordinator, log), precision != PushPrecision.BF16);
  }

  /** The push file of a joining worker, or null when it pushes through the socket. */
  SharedPushArea pushAreaFor(String workerId) {
    return pushFiles ? files.pushAreaFor(workerId) : null;
  }

  /** Tells a worker given a push file where the plane is and the token that proves it sees the same files. */
  JoinResponse tell(JoinResponse admitted) {
    return admitted.toBuilder().setSharedMemoryDir(files.dir().toString()).setSharedMemoryToken(files.token()).build();
  }

  /** Writes the weights of version {@code version} for the local workers. */
  void publish(long version, Network net) {
    files.publish(version, net);
  }

  /** A worker left: its push file goes. */
  void forget(String workerId) {
    files.forget(workerId);
  }

  /** Closes the socket and deletes the files (the server stops). */
  @Override
  public void close() {
    if (socket != null) {
      socket.close();
    }
    files.close();
  }
}
