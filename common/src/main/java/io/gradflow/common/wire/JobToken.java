package io.gradflow.common.wire;

import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The per-job token on the wire: every call carries the metadata header {@code authorization:
 * Bearer <token>}; the parameter server refuses a call without it (UNAUTHENTICATED). A token is
 * printable ASCII without spaces, so that it fits a gRPC ASCII header unchanged.
 */
public final class JobToken {
  /** The metadata header that carries the token. */
  public static final String HEADER = "authorization";
  /** What precedes the token in the header value. */
  public static final String SCHEME = "Bearer ";

  private JobToken() {}

  /** The header value for {@code token}: {@code "Bearer " + token}. */
  public static String headerValue(String token) {
    checkValid(token);
    return SCHEME + token;
  }

  /** Throws IllegalArgumentException, with the reason, unless {@code token} can go on the wire. */
  public static void checkValid(String token) {
    if (token == null || token.isEmpty()) {
      throw new IllegalArgumentException("the job token is empty");
    }
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        throw new IllegalArgumentException(
            "the job token may hold only printable ASCII without spaces; character " + (i + 1) + " is not");
      }
    }
  }

  /** A fresh random token: 256 bits from {@code random}, as 64 hex digits. */
  public static String generate(SecureRandom random) {
    byte[] bits = new byte[32];
    random.nextBytes(bits);
    return HexFormat.of().formatHex(bits);
  }
}
