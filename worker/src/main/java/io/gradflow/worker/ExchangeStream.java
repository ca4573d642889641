package io.gradflow.worker;

import io.gradflow.common.wire.Rejoin;
import io.gradflow.proto.ExchangeReply;
import io.gradflow.proto.ExchangeRequest;
import io.gradflow.proto.ParameterServerGrpc;
import io.gradflow.proto.PullChunk;
import io.gradflow.proto.PullRequest;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.PushResponse;
import io.gradflow.proto.Refusal;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import io.gradflow.common.shm.ExchangeFrames;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The exchange of a worker on the shared-memory data plane: its pulls and pushes as messages of one
 * stream instead of two calls per step (a call costs hundreds of microseconds of CPU on each side;
 * a message on an open stream a fraction of that). The stream is the server's exchange socket
 * ({@link #connect}: the worker's own thread writes each request, or its push thread while it
 * computes, and reads the replies while it waits for one, {@link #awaitReplies}, so no other
 * thread is woken on this side; one thread uses the stream at a time), or, where that
 * socket cannot be reached, the gRPC {@code Exchange} call ({@link #open}: replies arrive on the
 * transport's thread). At most one pull and one push are in flight; each reply goes to the one
 * waiting for it. A refusal fails only the request it answers, with the Status the call would have
 * ended with; a broken stream fails both, and the worker opens a new one for its next request.
 */
final class ExchangeStream implements ClientResponseObserver<ExchangeRequest, ExchangeReply> {
  private ClientCallStreamObserver<ExchangeRequest> requests;
  /** The exchange socket (non-blocking, with its selector and reader), or null on the gRPC call. */
  private final SocketChannel socket;
  private final Selector selector;
  private final ExchangeFrames.Reader<ExchangeReply> replies;
  private StreamObserver<PullChunk> pull;
  private CompletableFuture<PushResponse> push;
  private boolean closed;
  /** Requests held back between {@link #hold} and {@link #release}; null outside. */
  private List<ExchangeRequest> held;

  private ExchangeStream() {
    this(null, null);
  }

  private ExchangeStream(SocketChannel socket, Selector selector) {
    this.socket = socket;
    this.selector = selector;
    this.replies = socket == null ? null : new ExchangeFrames.Reader<>(ExchangeReply.parser());
  }

  /** Connects to the server's exchange socket at {@code path}. */
  static ExchangeStream connect(Path path) throws IOException {
    SocketChannel socket = SocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      socket.connect(UnixDomainSocketAddress.of(path));
      socket.configureBlocking(false);
      Selector selector = Selector.open();
      socket.register(selector, SelectionKey.OP_READ);
      return new ExchangeStream(socket, selector);
    } catch (IOException | RuntimeException e) {
      socket.close();
      throw e;
    }
  }

  /** True when replies are read by {@link #awaitReplies} (the socket), false when they arrive by themselves. */
  boolean readsOnAwait() {
    return socket != null;
  }

  /**
   * Reads and hands out replies until {@code wanted} is complete or {@code timeoutMillis} passed
   * (on the gRPC call, returns at once: the transport delivers them). A broken socket fails what
   * is in flight.
   */
  void awaitReplies(CompletableFuture<?> wanted, long timeoutMillis) {
    if (socket == null) {
      return;
    }
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
    try {
      while (!wanted.isDone()) {
        ExchangeReply reply = replies.next();
        if (reply != null) {
          onNext(reply);
          continue;
        }
        if (replies.fill(socket) > 0) {
          continue;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return;
        }
        selector.select(Math.max(1, left / 1_000_000L));
        selector.selectedKeys().clear();
      }
    } catch (IOException e) {
      failAll(Status.UNAVAILABLE.withDescription("the exchange socket broke: " + e.getMessage()).asRuntimeException());
    }
  }

  /** Opens the stream on {@code channel} with the stub's call options (its credentials). */
  static ExchangeStream open(Channel channel, CallOptions options) {
    ExchangeStream stream = new ExchangeStream();
    ClientCalls.asyncBidiStreamingCall(channel.newCall(ParameterServerGrpc.getExchangeMethod(), options), stream);
    return stream;
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<ExchangeRequest> requestStream) {
    requests = requestStream;
  }

  /** Asks for {@code request}; the answer arrives at {@code answer} as a pull call's header and end. */
  void pull(PullRequest request, StreamObserver<PullChunk> answer) {
    boolean open;
    synchronized (this) {
      open = !closed;
      if (open) {
        pull = answer;
        if (send(ExchangeRequest.newBuilder().setPull(request).build())) {
          return;
        }
      }
    }
    if (open) {
      failAll(ended()); // the socket broke: fails this pull and a push in flight
    } else {
      answer.onError(ended());
    }
  }

  /** Sends {@code header} (its sums are in the push file); the future completes with the acknowledgement. */
  CompletableFuture<PushResponse> push(PushHeader header) {
    CompletableFuture<PushResponse> acknowledged = new CompletableFuture<>();
    boolean open;
    synchronized (this) {
      open = !closed;
      if (open) {
        push = acknowledged;
        if (send(ExchangeRequest.newBuilder().setPush(header).build())) {
          return acknowledged;
        }
      }
    }
    if (open) {
      failAll(ended()); // the socket broke: fails this push and a pull in flight
    } else {
      acknowledged.completeExceptionally(ended());
    }
    return acknowledged;
  }

  /** Sends one request (or holds it, after {@link #hold}); false when the socket broke (the caller fails what is in flight). */
  private boolean send(ExchangeRequest request) {
    if (socket == null) {
      requests.onNext(request);
      return true;
    }
    if (held != null) {
      held.add(request);
      return true;
    }
    return write(List.of(request));
  }

  /**
   * Holds back the requests of the {@link #push} and {@link #pull} calls that follow until {@link
   * #release}, which writes them to the socket together, in one write: the server's thread for
   * this worker is woken once for all of them, where each write would wake it (and on a busy core
   * switch to it) again. On the gRPC call each request goes as it is made.
   */
  synchronized void hold() {
    if (socket != null) {
      held = new ArrayList<>(2);
    }
  }

  /** Writes the requests held since {@link #hold}; a broken socket fails what is in flight. */
  void release() {
    boolean written;
    synchronized (this) {
      List<ExchangeRequest> requests = held;
      held = null;
      written = closed || requests == null || requests.isEmpty() || write(requests);
    }
    if (!written) {
      failAll(ended());
    }
  }

  /** Writes {@code requests} to the socket in one write; false when it broke. */
  private boolean write(List<ExchangeRequest> requests) {
    try {
      ExchangeFrames.write(socket, requests);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  synchronized boolean isOpen() {
    return !closed;
  }

  /** Ends the stream: the server drops a pull still waiting; anything in flight fails. */
  void close() {
    boolean wasOpen;
    synchronized (this) {
      wasOpen = !closed;
    }
    if (wasOpen) {
      if (socket == null) {
        requests.cancel("closed by the worker", null);
      }
      failAll(ended());
    }
  }

  @Override
  public void onNext(ExchangeReply reply) {
    switch (reply.getPartCase()) {
      case WEIGHTS -> {
        StreamObserver<PullChunk> answer = takePull();
        if (answer != null) {
          answer.onNext(PullChunk.newBuilder().setHeader(reply.getWeights()).build());
          answer.onCompleted();
        }
      }
      case PUSHED -> {
        CompletableFuture<PushResponse> acknowledged = takePush();
        if (acknowledged != null) {
          acknowledged.complete(reply.getPushed());
        }
      }
      case REFUSED -> {
        Refusal r = reply.getRefused();
        StatusRuntimeException e = r.getRejoin()
            ? Rejoin.asked(r.getDescription())
            : Status.fromCodeValue(r.getCode()).withDescription(r.getDescription()).asRuntimeException();
        if (r.getPush()) {
          CompletableFuture<PushResponse> acknowledged = takePush();
          if (acknowledged != null) {
            acknowledged.completeExceptionally(e);
          }
        } else {
          StreamObserver<PullChunk> answer = takePull();
          if (answer != null) {
            answer.onError(e);
          }
        }
      }
      default -> { } // a newer server's reply this worker does not know: nothing waits for it
    }
  }

  @Override
  public void onError(Throwable t) {
    failAll(t instanceof StatusRuntimeException e ? e : Status.fromThrowable(t).asRuntimeException());
  }

  @Override
  public void onCompleted() {
    failAll(ended());
  }

  private synchronized StreamObserver<PullChunk> takePull() {
    StreamObserver<PullChunk> answer = pull;
    pull = null;
    return answer;
  }

  private synchronized CompletableFuture<PushResponse> takePush() {
    CompletableFuture<PushResponse> acknowledged = push;
    push = null;
    return acknowledged;
  }

  private void failAll(StatusRuntimeException e) {
    StreamObserver<PullChunk> answer;
    CompletableFuture<PushResponse> acknowledged;
    synchronized (this) {
      closed = true;
      answer = takePull();
      acknowledged = takePush();
    }
    if (socket != null) {
      try {
        selector.close();
        socket.close();
      } catch (IOException closedAlready) {
        // nothing to release
      }
    }
    if (answer != null) {
      answer.onError(e);
    }
    if (acknowledged != null) {
      acknowledged.completeExceptionally(e);
    }
  }

  private static StatusRuntimeException ended() {
    return Status.UNAVAILABLE.withDescription("the exchange stream ended").asRuntimeException();
  }
}
