package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A worker whose --server is something else than a gradflow server says so in one line, exit 6. */
class WrongServerTest {
  private static String workerAt(int port) {
    Jobs.Run r = Jobs.run(List.of("worker", "--server", "127.0.0.1:" + port, "--rpc-timeout", "20", "--reconnect-seconds", "1"));
    assertEquals(ExitCode.UNAVAILABLE.code(), r.exitCode(), r.err());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    return r.err();
  }

  @Test
  void anHttp1ServerIsNotAParameterServer() throws Exception {
    HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    http.start();
    try {
      String err = workerAt(http.getAddress().getPort());
      assertTrue(err.contains("no gradflow parameter server there (join): it does not speak gRPC"), err);
    } finally {
      http.stop(0);
    }
  }

  @Test
  void aGrpcServerWithoutGradflowIsNotAParameterServer() throws Exception {
    Server grpc = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).build().start();
    try {
      String err = workerAt(grpc.getPort());
      assertTrue(err.contains("no gradflow parameter server there (join): a gRPC server that does not serve gradflow"), err);
    } finally {
      grpc.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
