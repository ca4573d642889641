package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

class PrerequisitesTest {
  @Test
  void aMissingPrerequisiteSkipsOnADevelopersMachine() {
    TestAbortedException e = assertThrows(TestAbortedException.class, () -> Prerequisites.need(false, "no frobnicator", false));
    assertTrue(e.getMessage().contains("no frobnicator"), e.getMessage());
  }

  @Test
  void aMissingPrerequisiteFailsInCi() {
    AssertionFailedError e = assertThrows(AssertionFailedError.class, () -> Prerequisites.need(false, "no frobnicator", true));
    assertTrue(e.getMessage().contains("CI=true") && e.getMessage().contains("no frobnicator"), e.getMessage());
  }

  @Test
  void aPresentPrerequisiteNeitherSkipsNorFails() {
    assertDoesNotThrow(() -> Prerequisites.need(true, "unused", true));
    assertDoesNotThrow(() -> Prerequisites.need(true, "unused", false));
  }
}
