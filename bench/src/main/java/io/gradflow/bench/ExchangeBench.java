package io.gradflow.bench;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import io.gradflow.common.reduce.ExactGradientSum;
import io.gradflow.common.shm.SharedPushArea;
import io.gradflow.common.shm.SharedWeights;
import io.gradflow.common.util.SplitMix64;
import io.gradflow.common.wire.PushCodec;
import io.gradflow.common.wire.TensorChunks;
import io.gradflow.proto.PushHeader;
import io.gradflow.proto.TensorChunk;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One worker's share of a step's exchange for a 784-256-128-10 model (235k parameters: 0.94 MB of
 * float32 weights, 1.9 MB of fixed-point sums), through the code the job runs, side by side:
 * the socket path's CPU work on each end (encoding a PACKED64 push and decoding it on the server;
 * cutting the weights into chunks and copying them into the worker's network; gRPC, Netty and the
 * kernel add their copies on top of these) against the shared-memory data plane's ({@link
 * SharedPushArea}, {@link SharedWeights} on {@code /dev/shm}). The gradient sums look like a real
 * step's: values of about {@code 2^28}, so PACKED64 packs them in 4-5 bytes.
 *
 * <pre>
 * java -jar bench/target/benchmarks.jar ExchangeBench
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class ExchangeBench {
  private Network net;
  private Network received;
  private ExactGradientSum sum;
  private long[][] staging;
  private List<TensorChunk> pushChunks;
  private List<TensorChunk> weightChunks;
  private PushCodec.Decoder decoder;
  private Path dir;
  private SharedPushArea workerArea;
  private SharedPushArea serverArea;
  private SharedWeights serverWeights;
  private SharedWeights workerWeights;
  private String[] names;

  @Setup
  public void setUp() throws IOException {
    net = Network.initialize(ModelSpec.parse("784-256-128-10", "relu", "", 1));
    received = net.copy();
    sum = new ExactGradientSum(net);
    SplitMix64 random = new SplitMix64(7);
    int[] lengths = net.tensorLengths();
    names = new String[net.tensorCount()];
    staging = new long[net.tensorCount()][];
    for (int t = 0; t < sum.tensorCount(); t++) {
      names[t] = Network.tensorName(t);
      staging[t] = new long[lengths[t]];
      for (int i = 0; i < lengths[t]; i++) {
        sum.tensor(t)[i] = (long) ((random.nextDouble() - 0.5) * (1L << 29));
      }
    }
    pushChunks = PushCodec.encode(PushHeader.Encoding.PACKED64, sum, null);
    weightChunks = weightsAsChunks();
    decoder = PushCodec.decoder(PushHeader.Encoding.PACKED64, 4, lengths, names);
    Path root = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
    dir = Files.createTempDirectory(root, "gradflow-exchange-bench");
    long token = 42;
    serverArea = SharedPushArea.create(SharedPushArea.fileFor(dir, "w"), lengths, token);
    workerArea = SharedPushArea.open(SharedPushArea.fileFor(dir, "w"), lengths, token);
    serverWeights = SharedWeights.create(dir.resolve(SharedWeights.FILE_NAME), lengths, 2, token);
    workerWeights = SharedWeights.open(dir.resolve(SharedWeights.FILE_NAME), lengths, token);
    serverWeights.write(0, net);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    try (var files = Files.list(dir)) {
      for (Path p : files.toList()) {
        Files.delete(p);
      }
    }
    Files.delete(dir);
  }

  private List<TensorChunk> weightsAsChunks() {
    List<TensorChunk> chunks = new ArrayList<>();
    for (int t = 0; t < net.tensorCount(); t++) {
      chunks.addAll(TensorChunks.ofFloats(t, net.tensor(t)));
    }
    return chunks;
  }

  /** Worker, socket: the push's PACKED64 chunks. */
  @Benchmark
  public List<TensorChunk> pushEncodeSocket() {
    return PushCodec.encode(PushHeader.Encoding.PACKED64, sum, null);
  }

  /** Server, socket: every chunk of a push checked and decoded into the worker's staging. */
  @Benchmark
  public long[][] pushDecodeSocket() {
    for (TensorChunk c : pushChunks) {
      decoder.decode(c, staging);
    }
    return staging;
  }

  /** Worker, shared memory: the sums written into its push file. */
  @Benchmark
  public SharedPushArea pushWriteShared() {
    workerArea.write(sum);
    return workerArea;
  }

  /** Server, shared memory: the sums copied out of the push file into the staging, checked. */
  @Benchmark
  public long[][] pushReadShared() {
    serverArea.readInto(staging, 1L << 53, names);
    return staging;
  }

  /** Server, socket: the new weights cut into the chunks every pull gets. */
  @Benchmark
  public List<TensorChunk> weightsEncodeSocket() {
    return weightsAsChunks();
  }

  /** Worker, socket: the weight chunks copied into its network. */
  @Benchmark
  public Network weightsDecodeSocket() {
    for (TensorChunk c : weightChunks) {
      TensorChunks.readFloats(c, received.tensor(c.getTensor()));
    }
    return received;
  }

  /** Server, shared memory: the new weights written into their slot. */
  @Benchmark
  public SharedWeights weightsWriteShared() {
    serverWeights.write(0, net);
    return serverWeights;
  }

  /** Worker, shared memory: the weights copied out of their slot into its network. */
  @Benchmark
  public boolean weightsReadShared() {
    return workerWeights.read(0, received);
  }
}
