package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What a test needs from the machine (a Debian package, root, the packaged jar). On a developer's
 * machine a missing prerequisite skips the test with the reason; in CI ({@code CI=true} in the
 * environment, as GitHub Actions, GitLab and {@code .ci/run} set it) it fails the test, so that a
 * package CI forgot to install cannot turn a test into a silent skip.
 */
final class Prerequisites {
  private Prerequisites() {}

  /** True when the environment says this is a CI build ({@code CI=true}). */
  static boolean inCi() {
    return "true".equalsIgnoreCase(System.getenv("CI"));
  }

  /** Skips the test (fails it in CI) with {@code reason} unless {@code present}. */
  static void need(boolean present, String reason) {
    need(present, reason, inCi());
  }

  static void need(boolean present, String reason, boolean ci) {
    if (!present && ci) {
      fail("CI=true, so a missing prerequisite is a failure: " + reason);
    }
    assumeTrue(present, reason);
  }
}
