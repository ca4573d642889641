package io.gradflow.report;

import java.util.ArrayList;
import java.util.List;

/**
 * A chart axis's mapping from data to pixels, linear or base-10 logarithmic, with its ticks.
 *
 * <p>Linear: the data range is widened to multiples of a "nice" step {@code s = {1, 2, 5} * 10^k},
 * the one that gives about five ticks. Log: the range is widened to whole decades and the ticks are
 * the powers of ten (with 2 and 5 times them when the range spans at most two decades); a value is
 * placed at {@code log10(v)}, so values {@code <= 0} have no place and are left out.
 */
final class Scale {
  private final boolean log;
  private final double lo;
  private final double hi;
  private final List<Double> ticks;

  private Scale(boolean log, double lo, double hi, List<Double> ticks) {
    this.log = log;
    this.lo = lo;
    this.hi = hi;
    this.ticks = ticks;
  }

  /** A linear scale that holds {@code [min, max]}. */
  static Scale linear(double min, double max) {
    return linear(min, max, 0);
  }

  /** A linear scale that holds {@code [min, max]}, its ticks at least {@code minStep} apart (1 for counts). */
  static Scale linear(double min, double max, double minStep) {
    if (!(min <= max)) {
      min = 0;
      max = 1;
    }
    if (min == max) {
      double pad = min == 0 ? 1 : Math.abs(min) * 0.1;
      min -= pad;
      max += pad;
    }
    double step = Math.max(minStep, niceStep((max - min) / 5));
    double lo = Math.floor(min / step) * step;
    double hi = Math.ceil(max / step) * step;
    List<Double> ticks = new ArrayList<>();
    for (long i = Math.round(lo / step); i <= Math.round(hi / step); i++) {
      ticks.add(i * step);
    }
    return new Scale(false, lo, hi, ticks);
  }

  /** A log scale that holds {@code [min, max]}, both {@code > 0}. */
  static Scale log(double min, double max) {
    if (!(min > 0 && min <= max)) {
      min = 1;
      max = 10;
    }
    int first = (int) Math.floor(Math.log10(min));
    int last = (int) Math.ceil(Math.log10(max));
    if (last == first) {
      last++;
    }
    List<Double> ticks = new ArrayList<>();
    for (int k = first; k <= last; k++) {
      double p = Math.pow(10, k);
      ticks.add(p);
      if (last - first <= 2 && k < last) {
        ticks.add(2 * p);
        ticks.add(5 * p);
      }
    }
    return new Scale(true, Math.pow(10, first), Math.pow(10, last), ticks);
  }

  /** The step {1, 2, 5} * 10^k nearest above {@code raw}. */
  static double niceStep(double raw) {
    double p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (double m : new double[] {1, 2, 5, 10}) {
      if (m * p >= raw * 0.999) {
        return m * p;
      }
    }
    return 10 * p;
  }

  boolean isLog() {
    return log;
  }

  /** Whether {@code v} can be placed on this scale (finite, and positive on a log scale). */
  boolean holds(double v) {
    return Double.isFinite(v) && (!log || v > 0);
  }

  /** {@code v}'s position from 0 (the low end) to 1 (the high end). */
  double fraction(double v) {
    return log ? (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : (v - lo) / (hi - lo);
  }

  List<Double> ticks() {
    return ticks;
  }

  /** A tick's label: {@code 1e-3} style on a log scale outside 0.01..1000. */
  String label(double tick) {
    if (log && (tick < 0.01 || tick >= 1e4)) {
      double m = tick / Math.pow(10, Math.floor(Math.log10(tick) + 1e-9));
      long exp = Math.round(Math.log10(tick / m));
      return (Math.abs(m - 1) < 1e-9 ? "1" : Xml.number(m)) + "e" + exp;
    }
    return Xml.number(tick);
  }
}
