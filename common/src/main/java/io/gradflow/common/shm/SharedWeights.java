package io.gradflow.common.shm;

import io.gradflow.common.model.Network;
import java.io.IOException;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.file.Path;

/**
 * The weights file of the shared-memory data plane: the server writes the weights of each
 * version (step) into a ring of slots, and workers on the same host copy them straight into their
 * network, at memory speed, instead of receiving them through a socket.
 *
 * <p>Layout, little-endian: a 64-byte header (magic, token, parameter count), then {@code slots}
 * slots, each a 64-byte stamp line followed by the float32 parameters in canonical order (tensor
 * 0, 1, ...), padded to 64 bytes. Version {@code v} lives in slot {@code v mod slots}.
 *
 * <p>A slot is a seqlock: the writer sets its stamp to -1, writes the floats, then sets the stamp
 * to {@code v} (a release); a reader checks the stamp is {@code v} (an acquire), copies, then
 * checks the stamp again. A reader that was overtaken (the server moved {@code slots} versions on
 * and rewrote the slot while it copied) sees a different stamp and drops the copy. The gRPC pull
 * tells a worker when version {@code v} exists; the file only carries the bytes.
 */
public final class SharedWeights {
  /** The weights file's name in the plane's directory. */
  public static final String FILE_NAME = "weights";

  static final long MAGIC = 0x3130_5447_4957_4647L; // "GFWIGT01" little-endian
  private static final int STAMP_BYTES = 64;

  private final MappedFile file;
  private final int[] lengths;
  private final long parameters;
  private final int slots;
  private final long slotBytes;

  private SharedWeights(MappedFile file, int[] lengths, int slots) {
    this.file = file;
    this.lengths = lengths.clone();
    this.parameters = parameterCount(lengths);
    this.slots = slots;
    this.slotBytes = slotBytes(parameters);
  }

  /** Creates the file for a model with tensors of {@code lengths} elements (server). */
  public static SharedWeights create(Path path, int[] lengths, int slots, long token) throws IOException {
    long bytes = fileBytes(lengths, slots);
    MappedFile f = MappedFile.create(path, bytes, MAGIC, token, parameterCount(lengths));
    f.buffer.putInt(24, slots);
    SharedWeights w = new SharedWeights(f, lengths, slots);
    for (int s = 0; s < slots; s++) {
      f.setVolatile(w.stampOffset(s), -1L);
    }
    return w;
  }

  /** Maps the server's file (worker); throws when it is not this job's file for this model. */
  public static SharedWeights open(Path path, int[] lengths, long token) throws IOException {
    MappedFile f = MappedFile.open(path, MAGIC, token, parameterCount(lengths));
    int slots = f.buffer.getInt(24);
    if (slots < 1 || f.bytes() != fileBytes(lengths, slots)) {
      throw new IOException(path + " has " + f.bytes() + " bytes and " + slots + " slots: not a weights file of this model");
    }
    return new SharedWeights(f, lengths, slots);
  }

  public Path path() {
    return file.path;
  }

  /** Writes {@code net}'s weights as version {@code version} (server; one writer). */
  public void write(long version, Network net) {
    int slot = slot(version);
    int stamp = stampOffset(slot);
    file.setVolatile(stamp, -1L);
    FloatBuffer out = data(slot).asFloatBuffer();
    for (int t = 0; t < lengths.length; t++) {
      out.put(net.tensor(t), 0, lengths[t]);
    }
    file.setRelease(stamp, version);
  }

  /**
   * Copies version {@code version} into {@code net}'s tensors (worker). Returns false when the
   * slot does not hold that version, before or after the copy: the server overwrote it, and what
   * was copied must not be used.
   */
  public boolean read(long version, Network net) {
    int slot = slot(version);
    int stamp = stampOffset(slot);
    if (file.getAcquire(stamp) != version) {
      return false;
    }
    FloatBuffer in = data(slot).asFloatBuffer();
    for (int t = 0; t < lengths.length; t++) {
      in.get(net.tensor(t), 0, lengths[t]);
    }
    VarHandle.acquireFence(); // the copy's loads happen before the stamp is read again
    return file.getAcquire(stamp) == version;
  }

  private int slot(long version) {
    if (version < 0) {
      throw new IllegalArgumentException("weights version " + version + ": expected >= 0");
    }
    return (int) (version % slots);
  }

  private int stampOffset(int slot) {
    return (int) (MappedFile.HEADER_BYTES + slot * slotBytes);
  }

  private ByteBuffer data(int slot) {
    return file.slice(stampOffset(slot) + STAMP_BYTES, (int) (parameters * Float.BYTES));
  }

  static long parameterCount(int[] lengths) {
    long n = 0;
    for (int l : lengths) {
      n += l;
    }
    return n;
  }

  private static long slotBytes(long parameters) {
    return STAMP_BYTES + MappedFile.align(parameters * Float.BYTES);
  }

  static long fileBytes(int[] lengths, int slots) {
    return MappedFile.HEADER_BYTES + slots * slotBytes(parameterCount(lengths));
  }
}
