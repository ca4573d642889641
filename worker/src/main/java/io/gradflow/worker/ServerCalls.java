package io.gradflow.worker;

import io.gradflow.common.wire.Rejoin;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * How a worker's calls to its server end: retried with exponential backoff while the server is
 * unreachable, for up to the reconnect window; {@link RejoinNeeded} when the server asks for a new
 * join; otherwise mapped to the {@link WorkerFailure} the user sees. Also waits for the answers of
 * calls already sent.
 */
final class ServerCalls {
  static final long FIRST_BACKOFF_MILLIS = 100;
  static final long MAX_BACKOFF_MILLIS = 5_000;

  private final Duration reconnect;
  private final Consumer<String> log;

  ServerCalls(Duration reconnect, Consumer<String> log) {
    this.reconnect = reconnect;
    this.log = log;
  }

  /**
   * Runs a call, retrying with exponential backoff (0.1 s doubling to 5 s) while the server is
   * unreachable, for up to the reconnect window; maps other failures to what the user sees.
   */
  <T> T call(String what, Supplier<T> rpc) {
    long firstFailure = 0;
    long backoff = FIRST_BACKOFF_MILLIS;
    while (true) {
      try {
        return rpc.get();
      } catch (StatusRuntimeException e) {
        Status.Code code = e.getStatus().getCode();
        if (Rejoin.isAsked(e) && !what.equals("join")) {
          throw new RejoinNeeded(describe(e));
        }
        boolean transientError =
            (code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED) && !isTlsFailure(e);
        if (!transientError) {
          throw failure(what, e);
        }
        long now = System.nanoTime();
        if (firstFailure == 0) {
          firstFailure = now;
          log.accept("parameter server unreachable (" + what + ": " + describe(e) + "); retrying for up to "
              + reconnect.toSeconds() + " s");
        }
        if (now - firstFailure > reconnect.toNanos()) {
          throw failure(what, e);
        }
        sleep(backoff);
        backoff = Math.min(MAX_BACKOFF_MILLIS, backoff * 2);
      }
    }
  }

  /**
   * As {@link #awaitFuture}, for an answer that comes on {@code stream} (null: a call of its own):
   * on the exchange socket this thread reads the replies until it is there.
   */
  static <T> T awaitReply(ExchangeStream stream, CompletableFuture<T> future, String what, long timeoutMillis) {
    if (stream != null && stream.readsOnAwait()) {
      stream.awaitReplies(future, timeoutMillis);
      return awaitFuture(future, what, 1); // there, or failed, or the time is up
    }
    return awaitFuture(future, what, timeoutMillis);
  }

  /** The result of a call's future; its gRPC failure is rethrown as is, so {@link #call} can retry. */
  static <T> T awaitFuture(CompletableFuture<T> future, String what, long timeoutMillis) {
    try {
      return future.get(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof StatusRuntimeException sre) {
        throw sre;
      }
      throw new WorkerFailure(WorkerFailure.Kind.FAILED, what + " failed: " + cause, cause);
    } catch (TimeoutException e) {
      throw Status.DEADLINE_EXCEEDED.withDescription(what + " got no answer in time").asRuntimeException();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WorkerFailure(WorkerFailure.Kind.FAILED, "interrupted");
    }
  }

  static void sleep(long millis) {
    if (millis <= 0) {
      return;
    }
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WorkerFailure(WorkerFailure.Kind.FAILED, "interrupted");
    }
  }

  /** A failed TLS handshake does not heal by retrying: wrong CA, name or client certificate. */
  private static boolean isTlsFailure(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof javax.net.ssl.SSLException) {
        return true;
      }
    }
    return false;
  }

  /**
   * False when the call failed because the other end does not speak HTTP/2 (gRPC's INTERNAL
   * "http2 exception": an HTTP/1 server, or another protocol, at the worker's --server).
   */
  private static boolean speaksHttp2(StatusRuntimeException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t.getClass().getSimpleName().equals("Http2Exception")) { // Netty's, shaded into grpc-netty-shaded
        return false;
      }
    }
    return !"http2 exception".equals(e.getStatus().getDescription());
  }

  private static String describe(StatusRuntimeException e) {
    return e.getStatus().getDescription() == null ? e.getStatus().getCode().toString() : e.getStatus().getDescription();
  }

  /** Maps a failed call to the failure the user sees. */
  private static WorkerFailure failure(String call, StatusRuntimeException e) {
    Status.Code code = e.getStatus().getCode();
    String desc = describe(e);
    return switch (code) {
      case UNAVAILABLE, DEADLINE_EXCEEDED ->
          new WorkerFailure(WorkerFailure.Kind.UNAVAILABLE, "parameter server unreachable (" + call + "): " + desc, e);
      case FAILED_PRECONDITION, RESOURCE_EXHAUSTED, PERMISSION_DENIED, UNAUTHENTICATED ->
          new WorkerFailure(WorkerFailure.Kind.REFUSED, "refused by the parameter server (" + call + "): " + desc, e);
      case UNIMPLEMENTED -> new WorkerFailure(WorkerFailure.Kind.UNAVAILABLE,
          "no gradflow parameter server there (" + call + "): a gRPC server that does not serve gradflow (" + desc + ")", e);
      case INTERNAL -> speaksHttp2(e)
          ? new WorkerFailure(WorkerFailure.Kind.FAILED, call + " failed: " + code + ": " + desc, e)
          : new WorkerFailure(WorkerFailure.Kind.UNAVAILABLE,
              "no gradflow parameter server there (" + call + "): it does not speak gRPC (" + desc + "; an HTTP/1 server?)", e);
      case ABORTED -> new WorkerFailure(WorkerFailure.Kind.FAILED, desc, e);
      case OUT_OF_RANGE -> new WorkerFailure(WorkerFailure.Kind.JOB_OVER, desc, e);
      default -> new WorkerFailure(WorkerFailure.Kind.FAILED, call + " failed: " + code + ": " + desc, e);
    };
  }
}
