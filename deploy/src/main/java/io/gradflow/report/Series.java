package io.gradflow.report;

/**
 * One line of a chart: its legend label, colour, dash pattern ({@code ""} for solid) and points.
 *
 * @param x the points' x values, as many as {@code y}
 */
record Series(String label, String color, String dash, double[] x, double[] y) {
  Series {
    if (x.length != y.length) {
      throw new IllegalArgumentException(label + ": " + x.length + " x values for " + y.length + " y values");
    }
  }
}
