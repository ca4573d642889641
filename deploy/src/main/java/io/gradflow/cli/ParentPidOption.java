package io.gradflow.cli;

import picocli.CommandLine.Option;

/** {@code --parent-pid} (hidden): a launcher's child ends when the launcher is gone. */
final class ParentPidOption {
  @Option(names = "--parent-pid", hidden = true, description = "Exit when this process is gone (set by the launcher).")
  long parentPid;

  /** Starts watching the launcher, when one was named. */
  void watch() {
    ParentWatch.start(parentPid);
  }

  /** The option that makes a child watch this process. */
  static java.util.List<String> thisProcess() {
    return java.util.List.of("--parent-pid", Long.toString(ProcessHandle.current().pid()));
  }
}
