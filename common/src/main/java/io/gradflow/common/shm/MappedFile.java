package io.gradflow.common.shm;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A file mapped into memory, read and written little-endian, with the ordered 64-bit accesses the
 * shared-memory files need for their stamps. Every file starts with a 64-byte header: a magic
 * number, the server's token (a random number that proves both ends mapped the same file) and a
 * size that must match the model.
 */
final class MappedFile {
  /** Bytes before the first payload: magic, token, size, padding to a cache line. */
  static final int HEADER_BYTES = 64;

  private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  final Path path;
  final ByteBuffer buffer;

  private MappedFile(Path path, MappedByteBuffer buffer) {
    this.path = path;
    this.buffer = buffer.order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Creates (or truncates) {@code path} with {@code bytes} bytes and writes its header. */
  static MappedFile create(Path path, long bytes, long magic, long token, long size) throws IOException {
    if (bytes > Integer.MAX_VALUE) {
      throw new IOException(path + ": " + bytes + " bytes is more than one mapping holds (2 GiB)");
    }
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ,
        StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      MappedFile f = new MappedFile(path, ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes));
      f.buffer.putLong(0, magic);
      f.buffer.putLong(8, token);
      f.buffer.putLong(16, size);
      return f;
    }
  }

  /**
   * Maps an existing file and checks its header.
   *
   * @throws IOException when it cannot be mapped, or its magic, token or size differ (another
   *     host's server, an older job, another model)
   */
  static MappedFile open(Path path, long magic, long token, long size) throws IOException {
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      if (ch.size() < HEADER_BYTES || ch.size() > Integer.MAX_VALUE) {
        throw new IOException(path + " has " + ch.size() + " bytes: not a gradflow shared-memory file");
      }
      MappedFile f = new MappedFile(path, ch.map(FileChannel.MapMode.READ_WRITE, 0, ch.size()));
      if (f.buffer.getLong(0) != magic || f.buffer.getLong(8) != token || f.buffer.getLong(16) != size) {
        throw new IOException(path + " is not this job's file (magic, token or size differ)");
      }
      return f;
    }
  }

  /** Its size in bytes. */
  long bytes() {
    return buffer.capacity();
  }

  /** The 64-bit value at {@code offset} (8-aligned), read with acquire semantics. */
  long getAcquire(int offset) {
    return (long) LONGS.getAcquire(buffer, offset);
  }

  /** Writes the 64-bit value at {@code offset} (8-aligned) with release semantics. */
  void setRelease(int offset, long value) {
    LONGS.setRelease(buffer, offset, value);
  }

  /** Writes the 64-bit value at {@code offset} (8-aligned) as a volatile write. */
  void setVolatile(int offset, long value) {
    LONGS.setVolatile(buffer, offset, value);
  }

  /** Bytes {@code [offset, offset + length)} as their own little-endian buffer. */
  ByteBuffer slice(int offset, int length) {
    return buffer.slice(offset, length).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Rounds {@code bytes} up to a multiple of 64 (a cache line). */
  static long align(long bytes) {
    return (bytes + 63) & ~63L;
  }
}
