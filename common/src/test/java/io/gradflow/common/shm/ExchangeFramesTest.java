package io.gradflow.common.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.gradflow.proto.ExchangeRequest;
import io.gradflow.proto.PullRequest;
import io.gradflow.proto.PushHeader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The exchange socket's framing: several messages written together leave in one write and are
 * read back whole and in order; a channel that takes nothing for a while (a full non-blocking
 * socket) is waited for; a frame longer than the limit is refused.
 */
class ExchangeFramesTest {
  private static final ExchangeRequest PUSH = ExchangeRequest.newBuilder()
      .setPush(PushHeader.newBuilder().setWorkerId("w-1").setStep(7).setShardFirst(2).setShardEnd(5)
          .setEncoding(PushHeader.Encoding.SHARED_FIXED64).addShardLoss(0.25).addShardLoss(1.5).addShardLoss(3))
      .build();
  private static final ExchangeRequest PULL = ExchangeRequest.newBuilder()
      .setPull(PullRequest.newBuilder().setWorkerId("w-1").setStep(8).setPushedFirst(2).setPushedEnd(5))
      .build();

  /** Collects what is written; takes nothing on the first {@code refusals} writes, then at most {@code most} bytes a write. */
  private static final class Sink implements WritableByteChannel {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    int writes;
    int refusals;
    int most = Integer.MAX_VALUE;

    @Override
    public int write(ByteBuffer src) {
      writes++;
      if (refusals > 0) {
        refusals--;
        return 0;
      }
      int n = Math.min(most, src.remaining());
      byte[] b = new byte[n];
      src.get(b);
      bytes.write(b, 0, n);
      return n;
    }

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public void close() {}

    ReadableByteChannel readBack() {
      return Channels.newChannel(new java.io.ByteArrayInputStream(bytes.toByteArray()));
    }
  }

  @Test
  void messagesWrittenTogetherLeaveInOneWriteAndAreReadBackInOrder() throws IOException {
    Sink sink = new Sink();
    ExchangeFrames.write(sink, List.of(PUSH, PULL));
    assertEquals(1, sink.writes);
    assertEquals(8 + PUSH.getSerializedSize() + PULL.getSerializedSize(), sink.bytes.size());
    ByteBuffer lengths = ByteBuffer.wrap(sink.bytes.toByteArray());
    assertEquals(PUSH.getSerializedSize(), lengths.getInt(0), "a 4-byte big-endian length before each message");
    assertEquals(PULL.getSerializedSize(), lengths.getInt(4 + PUSH.getSerializedSize()));

    ExchangeFrames.Reader<ExchangeRequest> reader = new ExchangeFrames.Reader<>(ExchangeRequest.parser());
    assertNull(reader.next());
    reader.fill(sink.readBack());
    assertEquals(PUSH, reader.next());
    assertEquals(PULL, reader.next());
    assertNull(reader.next());
  }

  @Test
  void aChannelThatTakesNothingForAWhileIsWaitedFor() throws IOException {
    Sink sink = new Sink();
    sink.refusals = 3;
    sink.most = 5;
    ExchangeFrames.write(sink, PUSH);
    ExchangeFrames.Reader<ExchangeRequest> reader = new ExchangeFrames.Reader<>(ExchangeRequest.parser());
    reader.fill(sink.readBack());
    assertEquals(PUSH, reader.next());
  }

  @Test
  void aFrameLongerThanTheLimitIsRefused() throws IOException {
    ByteBuffer b = ByteBuffer.allocate(8).putInt(ExchangeFrames.MAX_FRAME_BYTES + 1).putInt(0);
    ExchangeFrames.Reader<ExchangeRequest> reader = new ExchangeFrames.Reader<>(ExchangeRequest.parser());
    reader.fill(Channels.newChannel(new java.io.ByteArrayInputStream(b.array())));
    IOException e = assertThrows(IOException.class, reader::next);
    assertEquals("exchange socket: a frame of " + (ExchangeFrames.MAX_FRAME_BYTES + 1) + " bytes, expected 0 to "
        + ExchangeFrames.MAX_FRAME_BYTES, e.getMessage());
  }
}
