package io.gradflow.cli;

import java.io.PrintStream;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import java.util.regex.Pattern;

/**
 * gRPC and its shaded Netty log through {@code java.util.logging}, whose console format is two
 * lines and a stack trace per record: a TLS client at a plaintext server, an HTTP/1 client or a
 * port scanner makes a server print one at INFO ("Transport failed"). A gradflow process keeps its
 * output line-oriented: {@link #install} drops gRPC's records below WARNING and prints the others
 * as one line without stack frames, {@code gradflow: grpc WARNING <logger>: <message>: <cause>}. With {@code
 * GRADFLOW_DEBUG} set, nothing changes (JUL's own format, stack traces included).
 */
final class GrpcLogging {
  /** Held for the process's life: JUL keeps loggers only weakly, and a collected one forgets its level. */
  private static final Logger GRPC = Logger.getLogger("io.grpc");
  private static final Formatter MESSAGES = new SimpleFormatter(); // its formatMessage: parameters as JUL fills them in
  private static boolean installed;
  /**
   * Stack frames that gRPC writes into a message itself (a {@code Status}'s cause, printed whole):
   * {@code at pkg.Class.method(File.java:1)} runs, and the {@code ... N more} after them.
   */
  private static final Pattern STACK_FRAMES = Pattern.compile("(\\s+at [\\w.$/<>]+\\([^)]*\\))+(\\s+\\.\\.\\. \\d+ more)?");

  private GrpcLogging() {}

  /** Routes gRPC's log records through {@link #line}; once per process, from {@code main}. */
  static synchronized void install() {
    if (installed || System.getenv("GRADFLOW_DEBUG") != null) {
      return;
    }
    installed = true;
    GRPC.setLevel(Level.WARNING);
    GRPC.setUseParentHandlers(false);
    GRPC.addHandler(new OneLine(System.err));
  }

  /** {@code record} as one line: level, the logger's class name, the message and its cause, newlines flattened. */
  static String line(LogRecord record) {
    String name = record.getLoggerName() == null ? "grpc" : record.getLoggerName();
    String message = record.getMessage() == null ? "" : MESSAGES.formatMessage(record);
    Throwable cause = record.getThrown();
    String text = "gradflow: grpc " + record.getLevel().getName() + " " + name.substring(name.lastIndexOf('.') + 1) + ": " + message
        + (cause == null ? "" : ": " + cause);
    return STACK_FRAMES.matcher(text.replaceAll("\\s*\\R\\s*", " ")).replaceAll("").strip();
  }

  private static final class OneLine extends Handler {
    private final PrintStream err;

    OneLine(PrintStream err) {
      this.err = err;
    }

    @Override
    public void publish(LogRecord record) {
      if (isLoggable(record)) {
        err.println(line(record));
      }
    }

    @Override
    public void flush() {
      err.flush();
    }

    @Override
    public void close() {}
  }
}
