package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server and a worker, run in this JVM as {@code gradflow server} and {@code gradflow worker},
 * leave none of their gRPC event-loop threads behind when they return ({@link EventLoops}): a JVM
 * waits about 0.3 s at exit for every thread still parked in native code, as an event loop is.
 */
class EventLoopsTest {
  @TempDir Path tmp;
  private final ExecutorService executor = Executors.newSingleThreadExecutor();

  @AfterEach
  void stop() {
    executor.shutdownNow();
  }

  @Test
  void aServerAndItsWorkerOverTcpLeaveNoEventLoopThreads() throws Exception {
    Set<Thread> before = Thread.getAllStackTraces().keySet();
    runJob(List.of(), port -> "127.0.0.1:" + port);
    assertEquals(List.of(), eventLoopThreadsStartedSince(before));
  }

  @Test
  void aServerAndItsWorkerOverAUnixSocketLeaveNoEventLoopThreads() throws Exception {
    Path socket = tmp.resolve("server.sock");
    Set<Thread> before = Thread.getAllStackTraces().keySet();
    runJob(List.of("--unix-socket", socket.toString()), port -> "unix:" + socket);
    assertEquals(List.of(), eventLoopThreadsStartedSince(before));
  }

  /** Runs a 10-step spirals job: the server on a thread of its own, the worker on this one. */
  private void runJob(List<String> serverExtra, java.util.function.IntFunction<String> workerTarget) throws Exception {
    Path portFile = tmp.resolve("port");
    List<String> serverArgs = new ArrayList<>(List.of("server", "--port", "0", "--bind", "127.0.0.1", "--workers", "1",
        "--out", tmp.resolve("out").toString(), "--port-file", portFile.toString(), "--linger-seconds", "0"));
    serverArgs.addAll(serverExtra);
    serverArgs.addAll(Jobs.spiralsJob(10));
    StringWriter serverOut = new StringWriter();
    Future<Integer> server = executor.submit(() ->
        Main.run(new PrintWriter(serverOut, true), new PrintWriter(serverOut, true), serverArgs.toArray(String[]::new)));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!Files.exists(portFile) && System.nanoTime() < deadline && !server.isDone()) {
      Thread.sleep(20);
    }
    int port = Integer.parseInt(Files.readString(portFile).strip());
    List<String> workerArgs = new ArrayList<>(List.of("worker", "--server", workerTarget.apply(port)));
    workerArgs.addAll(Jobs.spiralsJob(10));
    Jobs.Run worker = Jobs.run(workerArgs);
    assertEquals(0, worker.exitCode(), worker.err());
    assertEquals(0, server.get(60, TimeUnit.SECONDS), serverOut.toString());
  }

  /** The live threads of gradflow's event loops ({@code gradflow-tcp*}, {@code gradflow-uds*}) not in {@code before}. */
  private static List<String> eventLoopThreadsStartedSince(Set<Thread> before) {
    List<String> names = new ArrayList<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      String name = t.getName();
      if (!before.contains(t) && t.isAlive() && (name.startsWith("gradflow-tcp") || name.startsWith("gradflow-uds"))) {
        names.add(name);
      }
    }
    return names;
  }
}
