package io.gradflow.cli;

import java.io.Console;
import java.lang.reflect.Method;

/** Whether standard output is an interactive terminal (progress redraws in place there). */
final class Terminal {
  private Terminal() {}

  /**
   * True when stdout is a terminal. {@code GRADFLOW_PROGRESS=plain} or {@code =tty} overrides.
   * On Java 22+ {@link System#console()} exists even when redirected, so {@code isTerminal()} is
   * asked too when it is there.
   */
  static boolean isInteractive() {
    String forced = System.getenv("GRADFLOW_PROGRESS");
    if ("plain".equals(forced)) {
      return false;
    }
    if ("tty".equals(forced)) {
      return true;
    }
    Console console = System.console();
    if (console == null) {
      return false;
    }
    try {
      Method isTerminal = Console.class.getMethod("isTerminal");
      return (Boolean) isTerminal.invoke(console);
    } catch (ReflectiveOperationException e) {
      return true; // Java 17-21: a console exists only on a terminal
    }
  }
}
