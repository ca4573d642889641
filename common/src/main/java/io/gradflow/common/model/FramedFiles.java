package io.gradflow.common.model;

import io.gradflow.common.util.IoErrors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * The checksummed file frame shared by model files and checkpoints:
 *
 * <pre>
 * [0]      8 bytes   magic (ASCII), e.g. "GFMODEL1" or "GFCKPT01"
 * [8]      8 bytes   N, the payload length, big-endian
 * [16]     N bytes   payload (a proto message)
 * [16+N]   32 bytes  SHA-256 of the payload
 * </pre>
 *
 * Writing is atomic: temporary file in the same directory, fsync, rename over the target, fsync of
 * the directory. Reading checks magic, length and checksum; every problem is a one-line {@link
 * ModelFileException} naming the file.
 */
public final class FramedFiles {
  static final int HEADER_BYTES = 16;
  static final int CHECKSUM_BYTES = 32;

  private FramedFiles() {}

  /** The framed bytes of {@code payload}, as {@link #write} puts them on disk. */
  public static byte[] encode(String magic, byte[] payload) {
    ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + payload.length + CHECKSUM_BYTES);
    b.put(magic.getBytes(StandardCharsets.US_ASCII)).putLong(payload.length).put(payload);
    b.put(sha256(payload, 0, payload.length));
    return b.array();
  }

  /** Writes {@code payload} framed with {@code magic} to {@code file}, atomically. */
  public static void write(Path file, String magic, byte[] payload) {
    ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.BIG_ENDIAN);
    header.put(magic.getBytes(StandardCharsets.US_ASCII)).putLong(payload.length).flip();
    ByteBuffer checksum = ByteBuffer.wrap(sha256(payload, 0, payload.length));

    Path target = file.toAbsolutePath();
    Path dir = target.getParent();
    if (dir == null || !Files.isDirectory(dir)) {
      throw new ModelFileException(file + ": cannot save: directory " + dir + " does not exist");
    }
    Path tmp = null;
    try {
      FileChannel ch = null;
      for (int attempt = 0; ch == null; attempt++) {
        tmp = dir.resolve(
            "." + target.getFileName() + "." + ProcessHandle.current().pid() + "."
                + Long.toHexString(System.nanoTime()) + ".tmp");
        try {
          ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (FileAlreadyExistsException e) {
          if (attempt >= 100) {
            throw e;
          }
          tmp = null;
        }
      }
      try (FileChannel out = ch) {
        writeFully(out, header);
        writeFully(out, ByteBuffer.wrap(payload));
        writeFully(out, checksum);
        out.force(true);
      }
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileSystemException e) {
        throw new FileSystemException(file.toString(), null, IoErrors.why(e)); // the file asked for, not the temporary one
      }
      tmp = null;
      syncDirectory(dir);
    } catch (IOException e) {
      throw new ModelFileException(file + ": cannot save: " + IoErrors.withoutPath(file, IoErrors.reason(e)), e);
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // best effort: the save already failed with a clearer message
        }
      }
    }
  }
  /** Reads a whole framed file. */
  public static byte[] read(Path file) {
    byte[] bytes;
    try {
      long size = Files.size(file);
      if (size > Integer.MAX_VALUE - 8) {
        throw new ModelFileException(
            file + ": " + size + " bytes is larger than the 2 GiB a model file may have");
      }
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new ModelFileException(file + ": file not found");
    } catch (IOException e) {
      throw new ModelFileException(file + ": cannot read: " + e, e);
    }
    return bytes;
  }

  /**
   * Checks the frame of {@code bytes} and returns the offset and length of the payload as {@code
   * [offset, length]}.
   *
   * @param kind what the file should be, for messages ("model", "checkpoint")
   */
  public static int[] payload(byte[] bytes, String magic, String source, String kind) {
    byte[] magicBytesOf = magic.getBytes(StandardCharsets.US_ASCII);
    int m = bytes.length;
    int magicBytes = Math.min(m, magicBytesOf.length);
    if (!Arrays.equals(bytes, 0, magicBytes, magicBytesOf, 0, magicBytes)) {
      throw new ModelFileException(
          source + ": not a gradflow " + kind + " file: starts with "
              + HexFormat.of().formatHex(bytes, 0, magicBytes) + ", expected the magic \"" + magic
              + "\"");
    }
    if (m < HEADER_BYTES) {
      throw new ModelFileException(
          source + ": truncated: file has " + m + " bytes, expected at least " + HEADER_BYTES
              + " (magic and payload length)");
    }
    long n = ByteBuffer.wrap(bytes, 8, 8).order(ByteOrder.BIG_ENDIAN).getLong();
    if (n < 0 || n > Integer.MAX_VALUE) {
      throw new ModelFileException(
          source + ": corrupt: payload length " + n + " at byte 8 is not a valid length");
    }
    long expectedSize = HEADER_BYTES + n + CHECKSUM_BYTES;
    if (m < expectedSize) {
      throw new ModelFileException(
          source + ": truncated: length says " + n + " payload bytes (" + expectedSize
              + " bytes in all), file has " + m);
    }
    if (m > expectedSize) {
      throw new ModelFileException(
          source + ": corrupt: " + (m - expectedSize) + " unexpected bytes after the checksum"
              + " (length says " + n + " payload bytes, " + expectedSize + " bytes in all)");
    }
    int payloadLength = (int) n;
    byte[] actual = sha256(bytes, HEADER_BYTES, payloadLength);
    byte[] stored = Arrays.copyOfRange(bytes, HEADER_BYTES + payloadLength, m);
    if (!Arrays.equals(actual, stored)) {
      throw new ModelFileException(
          source + ": corrupt: SHA-256 of the " + n + "-byte payload is "
              + HexFormat.of().formatHex(actual) + ", the file says " + HexFormat.of().formatHex(stored));
    }
    return new int[] {HEADER_BYTES, payloadLength};
  }

  private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  /** Makes the renames in {@code dir} durable where the platform allows opening a directory (Linux, macOS). */
  public static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Not supported on every platform (Windows); the file itself is already on disk.
    }
  }

  private static byte[] sha256(byte[] b, int off, int len) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(b, off, len);
      return md.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 missing from the JDK", e);
    }
  }
}
