package io.gradflow.cli;

/** A command ends with a one-line reason and a chosen exit code (no stack trace). */
final class CommandFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final ExitCode exitCode;

  CommandFailure(ExitCode exitCode, String message) {
    super(message);
    this.exitCode = exitCode;
  }

  /**
   * A bad option value found after parsing (by an option group or a helper that has no command
   * line at hand): reported as picocli's usage errors are, exit code {@link ExitCode#USAGE}.
   */
  static CommandFailure usage(String message) {
    return new CommandFailure(ExitCode.USAGE, message);
  }

  ExitCode exitCode() {
    return exitCode;
  }
}
