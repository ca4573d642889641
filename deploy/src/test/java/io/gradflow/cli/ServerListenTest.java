package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A server that cannot listen says why in the user's terms, in one line: the port in use, an address of another host. */
class ServerListenTest {
  @TempDir Path tmp;

  private String serverFails(ExitCode code, String bind, int port) {
    List<String> args = new ArrayList<>(List.of("server", "--bind", bind, "--port", Integer.toString(port),
        "--linger-seconds", "0", "--out", tmp.resolve("out").toString()));
    args.addAll(Jobs.spiralsJob(2));
    Jobs.Run r = Jobs.run(args);
    assertEquals(code.code(), r.exitCode(), r.err());
    List<String> lines = r.err().strip().lines().filter(l -> !l.startsWith("Try '")).toList();
    assertEquals(1, lines.size(), r.err());
    return lines.get(0);
  }

  @Test
  void aPortInUseIsNamed() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      String line = serverFails(ExitCode.UNAVAILABLE, "127.0.0.1", taken.getLocalPort());
      assertTrue(line.contains("cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": the port is in use"), line);
    }
  }

  @Test
  void anAddressOfAnotherHostIsNamed() {
    String line = serverFails(ExitCode.UNAVAILABLE, "192.0.2.1", 0); // TEST-NET-1: no host has it
    assertTrue(line.contains("--bind 192.0.2.1 is not an address of this host"), line);
  }

  @Test
  void anAddressThatIsNoneIsAUsageError() {
    String line = serverFails(ExitCode.USAGE, "999.1.1.1", 0);
    assertTrue(line.contains("--bind 999.1.1.1: no such address or host name"), line);
  }
}
