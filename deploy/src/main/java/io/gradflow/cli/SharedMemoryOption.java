package io.gradflow.cli;

import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * {@code --[no-]shared-memory}: whether the server offers workers on its host the shared-memory
 * data plane (weights and pushes through files on {@code /dev/shm} instead of the socket; the
 * calls stay gRPC). Workers elsewhere, or that cannot map the files, use the socket either way.
 */
final class SharedMemoryOption {
  /** Where the plane's files go: memory, not disk. */
  static final Path ROOT = Path.of("/dev/shm");

  @Option(names = "--shared-memory", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "Move the weights and pushes of workers on the server's host through shared memory (" + "/dev/shm"
          + ") instead of the socket; --no-shared-memory sends everything through the socket (default: on).")
  boolean enabled = true;

  /** The option as a child server's argument. */
  List<String> toArgs() {
    return enabled ? List.of() : List.of("--no-shared-memory");
  }
}
