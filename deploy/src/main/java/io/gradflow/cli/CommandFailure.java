package io.gradflow.cli;

/** A command ends with a one-line reason and a chosen exit code (no stack trace). */
final class CommandFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final ExitCode exitCode;

  CommandFailure(ExitCode exitCode, String message) {
    super(message);
    this.exitCode = exitCode;
  }

  ExitCode exitCode() {
    return exitCode;
  }
}
