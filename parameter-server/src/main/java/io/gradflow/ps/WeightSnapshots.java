package io.gradflow.ps;

import io.gradflow.common.model.Network;
import io.gradflow.common.train.WeightVersions;
import io.gradflow.common.wire.ParameterRange;
import io.gradflow.common.wire.RangeChunks;
import io.gradflow.common.wire.TensorChunks;
import io.gradflow.proto.TensorChunk;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The weights the open steps compute on, as pulls through the socket get them: for each kept
 * version ({@link WeightVersions}) its chunks, made at the first pull that needs them (a version
 * never changes while a step computes on it). Guarded by the coordinator's lock.
 */
final class WeightSnapshots {
  private final WeightVersions versions;
  private final Map<Long, List<TensorChunk>> chunks = new HashMap<>();
  /** The part of the weights this server sends (sharded servers), or null: all of it. */
  private ParameterRange range;

  WeightSnapshots(WeightVersions versions) {
    this.versions = versions;
  }

  /** Pulls get the elements of {@code range} only (a job with sharded servers); call before the first pull. */
  void sendOnly(ParameterRange range) {
    this.range = range;
    chunks.clear();
  }

  WeightVersions versions() {
    return versions;
  }

  /** The chunks of version {@code version}, which must be kept. */
  List<TensorChunk> chunksOf(long version) {
    return chunks.computeIfAbsent(version, v -> range == null ? weightsChunks(versions.version(v))
        : RangeChunks.floats(range, tensorsOf(versions.version(v))));
  }

  /** A step was applied: its weights are the newest version, and the versions no open step needs are dropped. */
  void advance() {
    versions.advance();
    long oldest = versions.versionFor(versions.newest());
    chunks.keySet().removeIf(v -> v < oldest);
  }

  /** The job ends: no pull needs weights any more. */
  void clear() {
    chunks.clear();
  }

  /** The tensors of {@code net}, tensor t at index t. */
  static float[][] tensorsOf(Network net) {
    float[][] tensors = new float[net.tensorCount()][];
    for (int t = 0; t < tensors.length; t++) {
      tensors[t] = net.tensor(t);
    }
    return tensors;
  }

  private static List<TensorChunk> weightsChunks(Network net) {
    List<TensorChunk> out = new ArrayList<>();
    for (int t = 0; t < net.tensorCount(); t++) {
      out.addAll(TensorChunks.ofFloats(t, net.tensor(t)));
    }
    return List.copyOf(out);
  }
}
