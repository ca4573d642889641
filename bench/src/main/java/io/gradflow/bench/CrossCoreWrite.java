package io.gradflow.bench;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Locale;

/**
 * What a push costs its writer when another core read the last one: a writer process copies
 * 235,146 longs (a push of 784-256-128-10, 1.9 MB) from its heap into a file on {@code /dev/shm},
 * hands it to a reader process, which copies it out (or, in the second run, only answers), and
 * so on; a flag in the same file carries the turn, spun on by both. Each process times its
 * own copy. Run it pinned, the writer on one core and the reader (which it starts) on the other:
 *
 * <pre>
 * taskset -c 0 java -cp bench/target/benchmarks.jar io.gradflow.bench.CrossCoreWrite
 * </pre>
 *
 * It prints the median over 5 rounds of 2,000 hand-overs of each copy, with the reader reading
 * every push and with the reader reading none.
 */
public final class CrossCoreWrite {
  private static final int N = 235_146;
  private static final int ROUNDS = 5;
  private static final int PER_ROUND = 2_000;
  private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private CrossCoreWrite() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("--reader")) {
      runReader(Path.of(args[1]), Boolean.parseBoolean(args[2]));
      return;
    }
    for (boolean read : new boolean[] {true, false}) {
      Path file = Files.createTempFile(Path.of("/dev/shm"), "gradflow-cross-core-", ".bin");
      try {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process reader = new ProcessBuilder("taskset", "-c", "1", java, "-cp", System.getProperty("java.class.path"),
            CrossCoreWrite.class.getName(), "--reader", file.toString(), Boolean.toString(read))
            .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        double[] writes = runWriter(file);
        String readerLine = new String(reader.getInputStream().readAllBytes()).trim();
        reader.waitFor();
        System.out.printf(Locale.ROOT, "reader %s: write %.1f us (median of %d rounds), %s%n",
            read ? "reads every push" : "reads nothing", median(writes), ROUNDS, readerLine);
      } finally {
        Files.deleteIfExists(file);
      }
    }
  }

  private static MappedByteBuffer map(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      return ch.map(FileChannel.MapMode.READ_WRITE, 0, 64 + N * 8L);
    }
  }

  /** The turn flag: 2i + 1 once push i is written, 2i + 2 once it was read. */
  private static void await(MappedByteBuffer buffer, long turn) {
    while ((long) LONGS.getVolatile(buffer, 0) != turn) {
      Thread.onSpinWait();
    }
  }

  private static double[] runWriter(Path file) throws IOException {
    MappedByteBuffer buffer = map(file);
    LongBuffer sums = buffer.slice(64, N * 8).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer();
    long[] push = new long[N];
    Arrays.setAll(push, i -> i * 31L);
    return timedTurns(buffer, 0, () -> sums.clear().put(push, 0, N));
  }

  private static void runReader(Path file, boolean read) throws IOException {
    MappedByteBuffer buffer = map(file);
    LongBuffer sums = buffer.slice(64, N * 8).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer();
    long[] copy = new long[N];
    double[] rounds = timedTurns(buffer, 1, () -> {
      if (read) {
        sums.clear().get(copy, 0, N);
      }
    });
    System.out.printf(Locale.ROOT, "read %.1f us", median(rounds));
  }

  /**
   * Takes this process's turns, the first {@code firstTurn} (writer 0, reader 1): waits for it,
   * runs and times {@code copy}, hands the turn over; returns the mean time of the copy in us for
   * each of the {@link #ROUNDS} rounds.
   */
  private static double[] timedTurns(MappedByteBuffer buffer, long firstTurn, Runnable copy) {
    double[] rounds = new double[ROUNDS];
    long turn = firstTurn;
    for (int r = 0; r < ROUNDS; r++) {
      long nanos = 0;
      for (int i = 0; i < PER_ROUND; i++) {
        await(buffer, turn);
        long start = System.nanoTime();
        copy.run();
        nanos += System.nanoTime() - start;
        LONGS.setVolatile(buffer, 0, turn + 1);
        turn += 2;
      }
      rounds[r] = nanos / 1e3 / PER_ROUND;
    }
    return rounds;
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }
}
