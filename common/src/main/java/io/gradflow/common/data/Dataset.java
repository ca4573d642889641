package io.gradflow.common.data;

/**
 * A labelled data set in memory: {@code count} rows of {@code features} float inputs (row-major,
 * scaled to [0, 1] by the readers) and an integer label in {@code [0, classes)} per row.
 */
public record Dataset(String name, float[] inputs, int[] labels, int features, int classes) {

  public Dataset {
    if (features <= 0) {
      throw new IllegalArgumentException(name + ": features must be positive, got " + features);
    }
    if ((long) labels.length * features != inputs.length) {
      throw new IllegalArgumentException(
          name + ": " + labels.length + " labels need " + (long) labels.length * features
              + " input values, got " + inputs.length);
    }
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] < 0 || labels[i] >= classes) {
        throw new IllegalArgumentException(
            name + ": label " + labels[i] + " at row " + i + " is out of range 0.." + (classes - 1));
      }
    }
  }

  /**
   * Hex SHA-256 of the set: features, classes, labels (int32 LE) and inputs (float32 LE). Workers
   * prove with it that they train on the same data as the server.
   */
  public String sha256() {
    try {
      java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
      java.nio.ByteBuffer buf =
          java.nio.ByteBuffer.allocate(1 << 16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      buf.putInt(features).putInt(classes).putInt(labels.length);
      for (int label : labels) {
        if (buf.remaining() < 4) {
          md.update(buf.flip());
          buf.clear();
        }
        buf.putInt(label);
      }
      int perChunk = buf.capacity() / 4;
      for (int off = 0; off < inputs.length; off += perChunk) {
        md.update(buf.flip());
        buf.clear();
        int n = Math.min(perChunk, inputs.length - off);
        buf.asFloatBuffer().put(inputs, off, n);
        buf.position(n * 4);
      }
      md.update(buf.flip());
      return java.util.HexFormat.of().formatHex(md.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  public int count() {
    return labels.length;
  }

  /**
   * Copies rows {@code indices[from, from+rows)} into {@code x} (row-major) and their labels into
   * {@code y}, starting at row 0 of each.
   */
  public void gather(int[] indices, int from, int rows, float[] x, int[] y) {
    for (int r = 0; r < rows; r++) {
      int src = indices[from + r];
      System.arraycopy(inputs, src * features, x, r * features, features);
      y[r] = labels[src];
    }
  }

  /** Copies the contiguous rows {@code [from, from+rows)} (for evaluation) into x and y. */
  public void gatherRange(int from, int rows, float[] x, int[] y) {
    System.arraycopy(inputs, from * features, x, 0, rows * features);
    System.arraycopy(labels, from, y, 0, rows);
  }
}
