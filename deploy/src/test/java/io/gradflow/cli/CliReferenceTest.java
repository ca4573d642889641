package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/cli.md is what {@code docs/cli-reference.sh} writes: every command's {@code --help}, as the
 * code prints it now. A changed option or description without the script run again fails here.
 */
class CliReferenceTest {
  private static final Pattern COMMAND = Pattern.compile("(?m)^  ([a-z][a-z-]*) ");

  @Test
  void theReferenceHoldsEveryCommandsHelpAsPrintedNow() throws Exception {
    Path root = Files.exists(Path.of("docs")) ? Path.of("") : Path.of(".."); // run from the root or the module
    String reference = Files.readString(root.resolve("docs/cli.md"));
    String top = help(List.of("--help"));
    assertTrue(reference.contains("## gradflow\n\n```\n" + top + "```\n"), "docs/cli.md: the top-level help differs; run docs/cli-reference.sh");
    List<String> commands = new ArrayList<>();
    Matcher m = COMMAND.matcher(top.substring(top.indexOf("Commands:")));
    while (m.find()) {
      if (!m.group(1).equals("help")) {
        commands.add(m.group(1));
      }
    }
    assertFalse(commands.isEmpty(), top);
    for (String c : commands) {
      assertTrue(reference.contains("## gradflow " + c + "\n\n```\n" + help(List.of(c, "--help")) + "```\n"),
          "docs/cli.md: the help of 'gradflow " + c + "' differs; run docs/cli-reference.sh");
    }
  }

  private static String help(List<String> args) {
    Jobs.Run r = Jobs.run(args);
    assertEquals(0, r.exitCode(), r.err());
    return r.out();
  }
}
