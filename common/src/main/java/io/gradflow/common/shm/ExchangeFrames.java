package io.gradflow.common.shm;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * The framing of the exchange socket, the Unix domain socket in the shared-memory plane's
 * directory ({@link #SOCKET_NAME}) that carries a local worker's pulls and pushes: each message is
 * a 4-byte big-endian length followed by that many bytes of an {@code ExchangeRequest} (worker to
 * server) or {@code ExchangeReply} (server to worker), the messages of the gRPC {@code Exchange}
 * call. The messages are headers of a few hundred bytes at most (the tensors are in the shared
 * files); a frame longer than {@link #MAX_FRAME_BYTES} or cut short is refused.
 *
 * <p>It exists because a message on a gRPC stream crosses two threads on each side (the caller's
 * and the transport's event loop), and on a busy machine each hand-off waits for a core: a round
 * trip on a raw socket, read and written by the threads that want the message, takes a fraction
 * of the time (see docs/performance.md).
 */
public final class ExchangeFrames {
  /** The socket's file name in the plane's directory. */
  public static final String SOCKET_NAME = "exchange.sock";
  /** The longest message either side accepts. */
  public static final int MAX_FRAME_BYTES = 1 << 16;
  /** The pause before writing again to a non-blocking socket whose send buffer is full. */
  private static final long FULL_BUFFER_BACKOFF_NANOS = 100_000;

  private ExchangeFrames() {}

  /** Writes {@code message} as one frame (waiting until all of it is written, also on a non-blocking channel). */
  public static void write(WritableByteChannel out, MessageLite message) throws IOException {
    write(out, List.of(message));
  }

  /**
   * Writes {@code messages} as consecutive frames with one write (waiting until all of it is
   * written, also on a non-blocking channel): the reader is woken once for all of them, not once
   * per message.
   */
  public static void write(WritableByteChannel out, List<? extends MessageLite> messages) throws IOException {
    int bytes = 0;
    for (MessageLite m : messages) {
      bytes += 4 + m.getSerializedSize();
    }
    ByteBuffer frames = ByteBuffer.allocate(bytes);
    com.google.protobuf.CodedOutputStream coded = com.google.protobuf.CodedOutputStream.newInstance(frames);
    for (MessageLite m : messages) {
      coded.writeFixed32NoTag(Integer.reverseBytes(m.getSerializedSize())); // big-endian length
      m.writeTo(coded);
    }
    coded.flush(); // moves the buffer's position past the messages
    frames.flip();
    while (frames.hasRemaining()) {
      if (out.write(frames) == 0) { // a non-blocking channel whose buffer is full: the reader is behind
        LockSupport.parkNanos(FULL_BUFFER_BACKOFF_NANOS);
      }
    }
  }

  /**
   * Reads frames from one channel: {@link #next} returns a whole message when the bytes read so far
   * hold one, and {@link #fill} reads what the channel has.
   */
  public static final class Reader<T extends MessageLite> {
    private final Parser<T> parser;
    private final ByteBuffer buffer = ByteBuffer.allocate(4 + MAX_FRAME_BYTES);

    public Reader(Parser<T> parser) {
      this.parser = parser;
      buffer.flip(); // empty, in read mode
    }

    /** The next whole message read, or null when more bytes are needed. */
    public T next() throws IOException {
      if (buffer.remaining() < 4) {
        return null;
      }
      int size = buffer.getInt(buffer.position());
      if (size < 0 || size > MAX_FRAME_BYTES) {
        throw new IOException("exchange socket: a frame of " + size + " bytes, expected 0 to " + MAX_FRAME_BYTES);
      }
      if (buffer.remaining() < 4 + size) {
        return null;
      }
      int start = buffer.position() + 4;
      buffer.position(start + size);
      try {
        return parser.parseFrom(ByteBuffer.wrap(buffer.array(), start, size));
      } catch (InvalidProtocolBufferException e) {
        throw new IOException("exchange socket: a frame that is not a message (" + e.getMessage() + ")");
      }
    }

    /**
     * Reads what {@code in} has (blocking when it is in blocking mode); returns the bytes read, 0
     * when a non-blocking channel had none.
     *
     * @throws EOFException when the peer closed the socket
     */
    public int fill(ReadableByteChannel in) throws IOException {
      buffer.compact();
      int n;
      try {
        n = in.read(buffer);
      } finally {
        buffer.flip();
      }
      if (n < 0) {
        throw new EOFException("exchange socket closed by the other side");
      }
      return n;
    }
  }
}
