package io.gradflow.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ScaleTest {
  @Test
  void linearTicksAreNiceStepsThatHoldTheRange() {
    Scale s = Scale.linear(0.37, 2.3);
    assertEquals(List.of(0.0, 0.5, 1.0, 1.5, 2.0, 2.5), s.ticks());
    assertEquals(0.0, s.fraction(0.0), 1e-12);
    assertEquals(1.0, s.fraction(2.5), 1e-12);
    assertEquals(List.of("0", "0.5", "1", "1.5", "2", "2.5"), s.ticks().stream().map(s::label).toList());
  }

  @Test
  void countsGetWholeTicks() {
    assertEquals(List.of(1.0, 2.0), Scale.linear(1, 2, 1).ticks());
  }

  @Test
  void logTicksArePowersOfTenAndNonPositiveValuesHaveNoPlace() {
    Scale s = Scale.log(0.003, 0.4);
    assertEquals(List.of(1e-3, 1e-2, 1e-1, 1.0), s.ticks());
    assertEquals(List.of("1e-3", "0.01", "0.1", "1"), s.ticks().stream().map(s::label).toList());
    assertEquals(0.5, s.fraction(0.03162278), 1e-6);
    assertFalse(s.holds(0));
    assertFalse(s.holds(Double.NaN));
    assertTrue(s.holds(1e-9));
  }

  @Test
  void oneValueStillGivesARange() {
    Scale s = Scale.linear(0.1, 0.1);
    assertTrue(s.ticks().size() >= 2, s.ticks().toString());
    assertTrue(s.fraction(0.1) > 0 && s.fraction(0.1) < 1);
  }
}
