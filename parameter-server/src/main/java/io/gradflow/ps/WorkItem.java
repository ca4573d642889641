package io.gradflow.ps;

import java.util.ArrayList;
import java.util.List;

/**
 * A contiguous range of micro-shards of the open step, and the workers asked to compute it: its
 * owner first, then any workers it was handed to after a loss, or as a backup copy.
 */
final class WorkItem {
  final int first;
  final int end;
  final List<String> assignees = new ArrayList<>();
  boolean done;

  WorkItem(int first, int end, String assignee) {
    this.first = first;
    this.end = end;
    assignees.add(assignee);
  }

  int size() {
    return end - first;
  }

  @Override
  public String toString() {
    return "[" + first + ", " + end + ")";
  }
}
