package io.gradflow.common.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A {@link FileSet} replaces all of its files or none of them, and leaves no temporary file. */
class FileSetTest {
  @TempDir Path dir;

  private List<String> names() throws Exception {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private FileSet newSet() throws Exception {
    Files.writeString(dir.resolve("metrics.jsonl.partial"), "new metrics");
    return new FileSet()
        .add(dir.resolve("metrics.jsonl.partial"), dir.resolve("metrics.jsonl"))
        .write(dir.resolve("summary.json"), "new summary".getBytes(StandardCharsets.UTF_8))
        .write(dir.resolve("model.gfm"), "new model".getBytes(StandardCharsets.UTF_8));
  }

  private void oldSet() throws Exception {
    for (String name : List.of("metrics.jsonl", "summary.json", "model.gfm")) {
      Files.writeString(dir.resolve(name), "old " + name);
    }
  }

  @Test
  void aCommitReplacesEveryFileAndLeavesNothingElse() throws Exception {
    oldSet();
    newSet().commit();
    assertEquals(List.of("metrics.jsonl", "model.gfm", "summary.json"), names());
    assertEquals("new model", Files.readString(dir.resolve("model.gfm")));
    assertEquals("new summary", Files.readString(dir.resolve("summary.json")));
    assertEquals("new metrics", Files.readString(dir.resolve("metrics.jsonl")));
  }

  @Test
  void aRenameThatFailsHalfwayPutsTheEarlierFilesBack() throws Exception {
    oldSet();
    // summary.json cannot be moved aside: a non-empty directory holds its place; metrics.jsonl was moved already
    Files.createDirectories(dir.resolve(".summary.json.old").resolve("x"));
    FileSet set = newSet();
    OutputException e = assertThrows(OutputException.class, set::commit);
    assertTrue(e.getMessage().startsWith("cannot write " + dir.resolve("summary.json") + ": "), e.getMessage());
    for (String name : List.of("metrics.jsonl", "summary.json", "model.gfm")) {
      assertEquals("old " + name, Files.readString(dir.resolve(name)), name);
    }
    assertFalse(Files.exists(dir.resolve("summary.json.tmp")) || Files.exists(dir.resolve("model.gfm.tmp")), names().toString());
    assertEquals("new metrics", Files.readString(dir.resolve("metrics.jsonl.partial"))); // the failed job's metrics stay
  }

  @Test
  void aTargetThatIsADirectoryFailsBeforeAnyRename() throws Exception {
    oldSet();
    Files.delete(dir.resolve("model.gfm"));
    Files.createDirectories(dir.resolve("model.gfm").resolve("x"));
    FileSet set = newSet();
    OutputException e = assertThrows(OutputException.class, set::commit);
    assertEquals("cannot write " + dir.resolve("model.gfm") + ": is a directory", e.getMessage());
    assertEquals("old summary.json", Files.readString(dir.resolve("summary.json")));
    assertEquals("old metrics.jsonl", Files.readString(dir.resolve("metrics.jsonl")));
    assertEquals(List.of("metrics.jsonl", "metrics.jsonl.partial", "model.gfm", "summary.json"), names());
  }
}
