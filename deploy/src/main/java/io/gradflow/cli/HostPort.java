package io.gradflow.cli;

/** A server address, {@code host:port}; an IPv6 host is written in brackets ({@code [::1]:7070}). */
record HostPort(String host, int port) {

  /**
   * Parses {@code HOST:PORT} (or {@code [V6]:PORT}); a malformed one is an {@link
   * IllegalArgumentException} that names {@code option}.
   */
  static HostPort parse(String option, String text) {
    int colon = text.lastIndexOf(':');
    if (colon <= 0 || colon == text.length() - 1) {
      throw new IllegalArgumentException(option + " '" + text + "': expected HOST:PORT");
    }
    try {
      int port = Integer.parseInt(text.substring(colon + 1));
      if (port <= 0 || port > 65535) {
        throw new NumberFormatException();
      }
      String host = text.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      return new HostPort(host, port);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(option + " '" + text + "': port must be 1..65535");
    }
  }

  @Override
  public String toString() {
    return (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
  }
}
