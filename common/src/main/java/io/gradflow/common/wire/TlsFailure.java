package io.gradflow.common.wire;

import javax.net.ssl.SSLException;

/** Why a call failed in its TLS handshake, from the causes gRPC wraps it in ("io exception" alone says nothing). */
public final class TlsFailure {
  private TlsFailure() {}

  /**
   * The first line of the deepest message at or below the outermost {@link SSLException} among
   * the causes of {@code failure}; null when no cause is one.
   */
  public static String reason(Throwable failure) {
    String reason = null;
    boolean tls = false;
    for (Throwable t = failure.getCause(); t != null; t = t.getCause()) {
      tls |= t instanceof SSLException;
      if (tls && t.getMessage() != null) {
        reason = firstLine(t.getMessage());
      }
    }
    return reason;
  }

  /** {@code s} up to its first line break, stripped. */
  public static String firstLine(String s) {
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl).strip();
  }
}
