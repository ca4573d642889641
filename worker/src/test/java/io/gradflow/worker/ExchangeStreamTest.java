package io.gradflow.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.shm.ExchangeFrames;
import io.gradflow.proto.ExchangeRequest;
import io.gradflow.proto.PullChunk;
import io.gradflow.proto.PullRequest;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.PushResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker's exchange stream on the exchange socket: a push and a pull asked between {@link
 * ExchangeStream#hold} and {@link ExchangeStream#release} leave in one write (the server's thread
 * is woken once for both); when the socket broke, what was held fails instead of waiting.
 */
class ExchangeStreamTest {
  @TempDir Path dir;

  private static final PushHeader PUSH = PushHeader.newBuilder().setWorkerId("w").setStep(3).setShardFirst(0)
      .setShardEnd(2).setEncoding(PushHeader.Encoding.SHARED_FIXED64).build();
  private static final PullRequest PULL = PullRequest.newBuilder().setWorkerId("w").setStep(4).setPushedFirst(0)
      .setPushedEnd(2).build();

  /** Remembers how a pull ended. */
  private static final class Answer implements StreamObserver<PullChunk> {
    final CompletableFuture<Throwable> ended = new CompletableFuture<>();

    @Override
    public void onNext(PullChunk value) {}

    @Override
    public void onError(Throwable t) {
      ended.complete(t);
    }

    @Override
    public void onCompleted() {
      ended.complete(null);
    }
  }

  /** A Unix socket listening where the server's exchange socket would be. */
  private ServerSocketChannel listen() throws java.io.IOException {
    ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    listener.bind(UnixDomainSocketAddress.of(dir.resolve(ExchangeFrames.SOCKET_NAME)));
    return listener;
  }

  /** Asks for {@link #PUSH} and {@link #PULL} between hold and release; returns the push's acknowledgement. */
  private static CompletableFuture<PushResponse> pushAndPullTogether(ExchangeStream stream, Answer answer) {
    stream.hold();
    CompletableFuture<PushResponse> pushed = stream.push(PUSH);
    stream.pull(PULL, answer);
    assertFalse(pushed.isDone());
    stream.release();
    return pushed;
  }

  @Test
  void aPushAndAPullAskedTogetherLeaveInOneWrite() throws Exception {
    try (ServerSocketChannel listener = listen()) {
      ExchangeStream stream = ExchangeStream.connect(dir.resolve(ExchangeFrames.SOCKET_NAME));
      try (SocketChannel server = listener.accept()) {
        pushAndPullTogether(stream, new Answer());
        ExchangeFrames.Reader<ExchangeRequest> reader = new ExchangeFrames.Reader<>(ExchangeRequest.parser());
        reader.fill(server); // one read: what one write brought
        List<ExchangeRequest> read = new ArrayList<>();
        for (ExchangeRequest r; (r = reader.next()) != null; ) {
          read.add(r);
        }
        assertEquals(List.of(ExchangeRequest.newBuilder().setPush(PUSH).build(),
            ExchangeRequest.newBuilder().setPull(PULL).build()), read);
      } finally {
        stream.close();
      }
    }
  }

  @Test
  void whenTheSocketBrokeWhatWasHeldFails() throws Exception {
    try (ServerSocketChannel listener = listen()) {
      ExchangeStream stream = ExchangeStream.connect(dir.resolve(ExchangeFrames.SOCKET_NAME));
      listener.accept().close(); // the server went away
      Answer answer = new Answer();
      CompletableFuture<PushResponse> pushed = pushAndPullTogether(stream, answer);
      ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
          () -> pushed.get(10, TimeUnit.SECONDS));
      assertEquals(Status.Code.UNAVAILABLE, assertInstanceOf(StatusRuntimeException.class, e.getCause()).getStatus().getCode());
      Throwable pullEnded = answer.ended.get(10, TimeUnit.SECONDS);
      assertEquals(Status.Code.UNAVAILABLE, assertInstanceOf(StatusRuntimeException.class, pullEnded).getStatus().getCode());
      assertTrue(!stream.isOpen());
    }
  }
}
