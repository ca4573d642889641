package io.gradflow.common.wire;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Detachable;
import io.grpc.HasByteBuffer;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A protobuf marshaller whose parsed messages keep pointing into the transport's buffers instead
 * of copying them: the {@code bytes} of a tensor chunk are read (decoded into the kernels' arrays)
 * straight from the memory the socket wrote them to. gRPC lends those buffers to the message
 * ({@link Detachable}); whoever consumed a message must {@link #release} it, which gives them
 * back. Where the transport cannot lend its buffers (the in-process one, say), it parses as
 * protobuf does, with a copy, and {@link #release} does nothing. Writing is protobuf's own.
 *
 * <p>A malformed message is refused as protobuf's marshaller refuses it: the call fails with
 * INTERNAL, and its buffers are given back at once.
 */
public final class ZeroCopyMarshaller<T extends Message> implements MethodDescriptor.PrototypeMarshaller<T> {
  private final MethodDescriptor.PrototypeMarshaller<T> protobuf;
  private final Parser<T> parser;
  private final Map<T, InputStream> lent = Collections.synchronizedMap(new IdentityHashMap<>());
  private final java.util.concurrent.atomic.AtomicLong aliased = new java.util.concurrent.atomic.AtomicLong();

  @SuppressWarnings("unchecked")
  public ZeroCopyMarshaller(T prototype) {
    this.protobuf = (MethodDescriptor.PrototypeMarshaller<T>) ProtoUtils.marshaller(prototype);
    this.parser = (Parser<T>) prototype.getParserForType();
  }

  @Override
  public Class<T> getMessageClass() {
    return protobuf.getMessageClass();
  }

  @Override
  public T getMessagePrototype() {
    return protobuf.getMessagePrototype();
  }

  @Override
  public InputStream stream(T value) {
    return protobuf.stream(value);
  }

  @Override
  public T parse(InputStream stream) {
    if (!(stream instanceof KnownLength && stream instanceof Detachable && stream instanceof HasByteBuffer lender)
        || !lender.byteBufferSupported()) {
      return protobuf.parse(stream);
    }
    InputStream detached = ((Detachable) stream).detach();
    T message;
    try {
      message = parseAliased(detached);
    } catch (IOException | RuntimeException e) {
      close(detached);
      if (e instanceof InvalidProtocolBufferException) {
        throw Status.INTERNAL.withDescription("invalid protobuf message: " + e.getMessage()).withCause(e).asRuntimeException();
      }
      throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
    }
    lent.put(message, detached);
    aliased.incrementAndGet();
    return message;
  }

  /** Parses the message from the buffers of {@code detached}, its {@code bytes} fields aliasing them. */
  private T parseAliased(InputStream detached) throws IOException {
    int size = detached.available();
    detached.mark(size); // keeps the buffers while skip walks over them
    List<ByteString> pieces = new ArrayList<>();
    while (detached.available() > 0) {
      ByteBuffer piece = ((HasByteBuffer) detached).getByteBuffer();
      pieces.add(UnsafeByteOperations.unsafeWrap(piece));
      detached.skip(piece.remaining());
    }
    detached.reset();
    CodedInputStream in = ByteString.copyFrom(pieces).newCodedInput(); // a rope over the pieces: no copy
    in.enableAliasing(true);
    in.setSizeLimit(Integer.MAX_VALUE);
    T message = parser.parseFrom(in);
    in.checkLastTagWas(0);
    return message;
  }

  /** Gives the buffers {@code message} points into back to the transport; the message must not be read after. */
  public void release(T message) {
    InputStream buffers = lent.remove(message);
    if (buffers != null) {
      close(buffers);
    }
  }

  /** Messages parsed without a copy so far. */
  public long aliasedCount() {
    return aliased.get();
  }

  /** Messages parsed and not yet released (for tests: a leak shows here). */
  public int lentCount() {
    return lent.size();
  }

  private static void close(InputStream s) {
    try {
      s.close();
    } catch (IOException e) {
      // nothing is left to give back
    }
  }
}
