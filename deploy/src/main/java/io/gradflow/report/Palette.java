package io.gradflow.report;

import java.util.List;

/** The report's colours (Tableau 10) and dash patterns, picked by index. */
final class Palette {
  private static final List<String> COLORS = List.of(
      "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac");
  private static final List<String> DASHES = List.of("", "6 3", "2 2", "8 3 2 3");

  private Palette() {}

  static String color(int i) {
    return COLORS.get(Math.floorMod(i, COLORS.size()));
  }

  static String dash(int i) {
    return DASHES.get(Math.floorMod(i, DASHES.size()));
  }

  /** The colour of an event kind's marker. */
  static String eventColor(String kind) {
    return switch (kind) {
      case "lost" -> "#d62728";
      case "joined" -> "#2ca02c";
      case "left" -> "#7f7f7f";
      case "waiting" -> "#ff7f0e";
      default -> "#1f77b4"; // resumed
    };
  }
}
