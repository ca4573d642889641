package io.gradflow.common.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.gradflow.common.model.ModelSpec;
import io.gradflow.common.model.Network;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The weight versions of a job with staleness K: step t computes on version max(0, t - K); each
 * kept version holds the weights it was made from while later steps change the live network and
 * reuse dropped versions; {@code earlier()} gives copies that later steps leave alone; K = 0 keeps
 * no copy.
 */
class WeightVersionsTest {
  private final Network live = Network.initialize(ModelSpec.parse("3-4-2", "relu", "", 7));

  /** A step's change of the live network: every element + step + 1. */
  private void applyStep(long step) {
    for (int t = 0; t < live.tensorCount(); t++) {
      float[] w = live.tensor(t);
      for (int i = 0; i < w.length; i++) {
        w[i] += step + 1;
      }
    }
  }

  @Test
  void eachKeptVersionHoldsTheWeightsItWasMadeFromWhileDroppedOnesAreReused() {
    WeightVersions versions = WeightVersions.fresh(live, 2);
    List<String> made = new ArrayList<>(List.of(live.sha256())); // version v's hash at index v
    for (long step = 0; step < 6; step++) {
      assertEquals(made.get((int) Math.max(0, step - 2)), versions.forStep(step).sha256(), "step " + step);
      applyStep(step);
      versions.advance();
      made.add(live.sha256());
      for (long v = Math.max(0, versions.newest() - 2); v <= versions.newest(); v++) {
        assertEquals(made.get((int) v), versions.version(v).sha256(), "version " + v + " after " + (step + 1) + " steps");
        assertNotSame(live, versions.version(v));
      }
    }
    assertThrows(IllegalStateException.class, () -> versions.version(versions.newest() - 3));
  }

  @Test
  void earlierGivesCopiesThatLaterStepsLeaveAlone() {
    WeightVersions versions = WeightVersions.fresh(live, 1);
    applyStep(0);
    versions.advance();
    applyStep(1);
    versions.advance(); // versions 1 and 2 kept
    List<Network> earlier = versions.earlier();
    assertEquals(1, earlier.size());
    String version1 = versions.version(1).sha256();
    assertEquals(version1, earlier.get(0).sha256());
    assertNotSame(versions.version(1), earlier.get(0));
    for (long step = 2; step < 5; step++) { // version 1's arrays are reused meanwhile
      applyStep(step);
      versions.advance();
    }
    assertEquals(version1, earlier.get(0).sha256());
  }

  @Test
  void withoutStalenessTheLiveNetworkIsTheOnlyVersion() {
    WeightVersions versions = WeightVersions.fresh(live, 0);
    assertSame(live, versions.forStep(0));
    applyStep(0);
    versions.advance();
    assertSame(live, versions.forStep(1));
    assertEquals(List.of(), versions.earlier());
  }
}
