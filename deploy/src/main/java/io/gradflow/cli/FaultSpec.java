package io.gradflow.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A failure the local launcher injects on purpose, to rehearse recovery ({@code --fault}):
 *
 * <ul>
 *   <li>{@code kill-worker:I@S} — kill -9 worker I once step S is done
 *   <li>{@code restart-worker:I@S} — kill -9 worker I at step S and start a replacement
 *   <li>{@code kill-server@S} — kill -9 the server at step S; the launcher restarts it from its
 *       newest checkpoint
 *   <li>{@code kill-server:I@S} — with {@code --servers}: kill -9 server I (0: the coordinator) at
 *       step S; the launcher restarts every server from the newest checkpoint
 *   <li>{@code add-worker@S} — start one more worker at step S (a late joiner)
 *   <li>{@code delay-worker:I:MS} — worker I delays every push by MS milliseconds (a straggler)
 * </ul>
 *
 * Steps are 1-based, as the progress display shows them.
 */
record FaultSpec(Kind kind, int worker, long step, long millis) {

  enum Kind {
    KILL_WORKER,
    RESTART_WORKER,
    KILL_SERVER,
    ADD_WORKER,
    DELAY_WORKER
  }

  static final String FORMS =
      "kill-worker:I@STEP, restart-worker:I@STEP, kill-server@STEP, kill-server:I@STEP, add-worker@STEP or delay-worker:I:MS";

  /** Parses every {@code --fault}; a malformed one is a usage error naming the accepted forms. */
  static List<FaultSpec> parseAll(List<String> texts) {
    List<FaultSpec> specs = new ArrayList<>();
    try {
      for (String t : texts) {
        specs.add(parse(t));
      }
    } catch (IllegalArgumentException e) {
      throw CommandFailure.usage(e.getMessage());
    }
    return specs;
  }

  /** Parses one spec; a malformed one is an IllegalArgumentException naming the accepted forms. */
  static FaultSpec parse(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    try {
      if (t.startsWith("delay-worker:")) {
        String[] p = t.substring("delay-worker:".length()).split(":");
        if (p.length != 2) {
          throw new IllegalArgumentException();
        }
        return new FaultSpec(Kind.DELAY_WORKER, nonNegative(p[0]), 0, positive(p[1]));
      }
      int at = t.indexOf('@');
      if (at < 0) {
        throw new IllegalArgumentException();
      }
      long step = positive(t.substring(at + 1));
      String what = t.substring(0, at);
      if (what.equals("kill-server")) {
        return new FaultSpec(Kind.KILL_SERVER, -1, step, 0);
      }
      if (what.startsWith("kill-server:")) {
        return new FaultSpec(Kind.KILL_SERVER, nonNegative(what.substring("kill-server:".length())), step, 0);
      }
      if (what.equals("add-worker")) {
        return new FaultSpec(Kind.ADD_WORKER, -1, step, 0);
      }
      if (what.startsWith("kill-worker:")) {
        return new FaultSpec(Kind.KILL_WORKER, nonNegative(what.substring("kill-worker:".length())), step, 0);
      }
      if (what.startsWith("restart-worker:")) {
        return new FaultSpec(Kind.RESTART_WORKER, nonNegative(what.substring("restart-worker:".length())), step, 0);
      }
      throw new IllegalArgumentException();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--fault '" + text + "': expected " + FORMS);
    }
  }

  private static int nonNegative(String s) {
    int v = Integer.parseInt(s);
    if (v < 0) {
      throw new IllegalArgumentException();
    }
    return v;
  }

  private static long positive(String s) {
    long v = Long.parseLong(s);
    if (v <= 0) {
      throw new IllegalArgumentException();
    }
    return v;
  }
}
