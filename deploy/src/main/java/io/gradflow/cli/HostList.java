package io.gradflow.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** The host list of {@code train --hosts}: one {@code host[:slots]} a line, {@code #} comments. */
final class HostList {
  private static final Pattern HOST = Pattern.compile("[A-Za-z0-9._%@-]+");

  /** One line of a host list: ssh destination ({@code [user@]host}) and worker slots. */
  record Host(String name, int slots) {}

  private HostList() {}

  /** Parses a host list; a malformed line is an {@link IllegalArgumentException} naming file:line. */
  static List<Host> parse(Path file, List<String> lines) {
    List<Host> hosts = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String where = file + ":" + (i + 1) + ": ";
      String line = lines.get(i);
      int hash = line.indexOf('#');
      if (hash >= 0) {
        line = line.substring(0, hash);
      }
      line = line.strip();
      if (line.isEmpty()) {
        continue;
      }
      if (line.chars().anyMatch(Character::isWhitespace)) {
        throw new IllegalArgumentException(where + "expected 'host[:slots]', got '" + line + "'");
      }
      String name;
      String slots = null;
      if (line.contains("[")) {
        int open = line.indexOf('[');
        int close = line.indexOf(']');
        if (close < open) {
          throw new IllegalArgumentException(where + "unclosed '[' in '" + line + "'");
        }
        String user = line.substring(0, open);
        String address = line.substring(open + 1, close);
        if (!(user.isEmpty() || user.matches("[A-Za-z0-9._-]+@")) || !address.matches("[0-9A-Za-z:.%]+")) {
          throw new IllegalArgumentException(where + "bad address in '" + line + "'");
        }
        name = user + address;
        String rest = line.substring(close + 1);
        if (!rest.isEmpty()) {
          if (!rest.startsWith(":")) {
            throw new IllegalArgumentException(where + "expected ':slots' after ']', got '" + rest + "'");
          }
          slots = rest.substring(1);
        }
      } else {
        int colon = line.indexOf(':');
        if (colon >= 0 && line.indexOf(':', colon + 1) >= 0) {
          throw new IllegalArgumentException(where + "write IPv6 addresses in brackets, e.g. [::1]:2; got '" + line + "'");
        }
        name = colon < 0 ? line : line.substring(0, colon);
        slots = colon < 0 ? null : line.substring(colon + 1);
        if (name.isEmpty() || name.startsWith("-") || !HOST.matcher(name).matches()) {
          throw new IllegalArgumentException(where + "bad host name '" + name + "'");
        }
      }
      hosts.add(new Host(name, slots == null ? 1 : parseSlots(where, slots)));
    }
    if (hosts.isEmpty()) {
      throw new IllegalArgumentException(file + ": no hosts (expected lines 'host[:slots]')");
    }
    return hosts;
  }

  private static int parseSlots(String where, String slots) {
    int n;
    try {
      n = Integer.parseInt(slots);
    } catch (NumberFormatException e) {
      n = 0;
    }
    if (n < 1) {
      throw new IllegalArgumentException(where + "slots must be a positive integer, got '" + slots + "'");
    }
    return n;
  }
}
