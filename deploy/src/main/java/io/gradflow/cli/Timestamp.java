package io.gradflow.cli;

import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/** The local time as {@code yyyyMMdd-HHmmss}, for default names of output directories and scripts. */
final class Timestamp {
  private static final DateTimeFormatter FORMAT = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

  private Timestamp() {}

  static String now() {
    return LocalDateTime.now().format(FORMAT);
  }
}
