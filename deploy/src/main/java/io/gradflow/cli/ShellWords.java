package io.gradflow.cli;

import java.util.ArrayList;
import java.util.List;

/** Quoting for POSIX shells: for the Slurm job script and the command ssh hands to a remote shell. */
final class ShellWords {
  private ShellWords() {}

  /** {@code s} as one POSIX shell word. */
  static String quote(String s) {
    if (!s.isEmpty() && s.matches("[A-Za-z0-9_./:=@%+,-]+")) {
      return s;
    }
    return "'" + s.replace("'", "'\\''") + "'";
  }

  /** {@code words} as one line of shell words, each quoted. */
  static String join(List<String> words) {
    List<String> q = new ArrayList<>();
    for (String w : words) {
      q.add(quote(w));
    }
    return String.join(" ", q);
  }
}
