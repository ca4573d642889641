package io.gradflow.common.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.gradflow.common.util.SplitMix64;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ScalarTest {
  private static final double EXACT = 1e-15;

  @Test
  void addBroadcastsTheUpstreamGradientToBothInputs() {
    Scalar a = Scalar.of(2);
    Scalar b = Scalar.of(-3);
    Scalar c = a.add(b);
    Scalar out = c.scale(4); // upstream gradient of c is 4
    out.backward();
    assertEquals(-1, c.value(), EXACT);
    assertEquals(4, c.grad(), EXACT);
    assertEquals(4, a.grad(), EXACT);
    assertEquals(4, b.grad(), EXACT);
  }

  @Test
  void sumBroadcastsToEveryTerm() {
    Scalar a = Scalar.of(1);
    Scalar b = Scalar.of(2);
    Scalar c = Scalar.of(3.5);
    Scalar s = Scalar.sum(List.of(a, b, c));
    s.scale(-2).backward();
    assertEquals(6.5, s.value(), EXACT);
    assertEquals(-2, a.grad(), EXACT);
    assertEquals(-2, b.grad(), EXACT);
    assertEquals(-2, c.grad(), EXACT);
    assertThrows(IllegalArgumentException.class, () -> Scalar.sum(List.of()));
  }

  @Test
  void scaleMultipliesTheGradientByK() {
    Scalar a = Scalar.of(3);
    Scalar out = a.scale(-2.5);
    out.backward();
    assertEquals(-7.5, out.value(), EXACT);
    assertEquals(-2.5, a.grad(), EXACT);
    assertEquals("*-2.5", out.op());
    assertEquals("*4", a.scale(4).op());
  }

  @Test
  void multiplySwapsTheInputs() {
    Scalar a = Scalar.of(3);
    Scalar b = Scalar.of(-4);
    Scalar out = a.mul(b).scale(0.5);
    out.backward();
    assertEquals(-6, out.value(), EXACT);
    assertEquals(-4 * 0.5, a.grad(), EXACT);
    assertEquals(3 * 0.5, b.grad(), EXACT);
  }

  @Test
  void aNodeUsedTwiceCollectsBothContributions() {
    Scalar a = Scalar.of(3);
    Scalar square = a.mul(a);
    square.backward();
    assertEquals(9, square.value(), EXACT);
    assertEquals(6, a.grad(), EXACT);

    // e = a b + a: de/da = b + 1, de/db = a
    Scalar x = Scalar.of(-2);
    Scalar y = Scalar.of(5);
    Scalar e = x.mul(y).add(x);
    e.backward();
    assertEquals(-12, e.value(), EXACT);
    assertEquals(6, x.grad(), EXACT);
    assertEquals(-2, y.grad(), EXACT);
  }

  @Test
  void maxSwitchesTheGradientToTheLargerInput() {
    Scalar a = Scalar.of(2);
    Scalar b = Scalar.of(5);
    Scalar m = a.max(b);
    m.scale(3).backward();
    assertEquals(5, m.value(), EXACT);
    assertEquals(0, a.grad(), EXACT);
    assertEquals(3, b.grad(), EXACT);

    Scalar c = Scalar.of(7);
    Scalar d = Scalar.of(-1);
    c.max(d).backward();
    assertEquals(1, c.grad(), EXACT);
    assertEquals(0, d.grad(), EXACT);

    Scalar tieA = Scalar.of(1);
    Scalar tieB = Scalar.of(1);
    tieA.max(tieB).backward();
    assertEquals(1, tieA.grad(), EXACT);
    assertEquals(0, tieB.grad(), EXACT);
  }

  @Test
  void reluPassesTheGradientOnlyForPositiveInputs() {
    Scalar pos = Scalar.of(1.5);
    Scalar r = pos.relu();
    r.scale(2).backward();
    assertEquals(1.5, r.value(), EXACT);
    assertEquals(2, pos.grad(), EXACT);

    Scalar neg = Scalar.of(-0.5);
    Scalar rn = neg.relu();
    rn.backward();
    assertEquals(0, rn.value(), EXACT);
    assertEquals(0, neg.grad(), EXACT);

    Scalar zero = Scalar.of(0);
    zero.relu().backward();
    assertEquals(0, zero.grad(), EXACT);
  }

  @Test
  void sigmoidGradientIsZTimesOneMinusZ() {
    Scalar z0 = Scalar.of(0);
    Scalar s0 = z0.sigmoid();
    s0.backward();
    assertEquals(0.5, s0.value(), EXACT);
    assertEquals(0.25, z0.grad(), EXACT);

    Scalar z = Scalar.of(Math.log(3)); // sigmoid(ln 3) = 3/4
    Scalar s = z.sigmoid();
    s.backward();
    assertEquals(0.75, s.value(), 1e-15);
    assertEquals(0.75 * 0.25, z.grad(), 1e-15);
  }

  @Test
  void tanhGradientIsOneMinusZSquared() {
    Scalar z = Scalar.of(Math.log(2)); // tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 0.6
    Scalar t = z.tanh();
    t.backward();
    assertEquals(0.6, t.value(), 1e-15);
    assertEquals(0.64, z.grad(), 1e-15);
  }

  @Test
  void expLogReciprocalAndDivide() {
    Scalar a = Scalar.of(Math.log(2));
    Scalar e = a.exp();
    e.backward();
    assertEquals(2, e.value(), 1e-15);
    assertEquals(2, a.grad(), 1e-15);

    Scalar b = Scalar.of(4);
    Scalar l = b.log();
    l.backward();
    assertEquals(Math.log(4), l.value(), EXACT);
    assertEquals(0.25, b.grad(), EXACT);

    Scalar c = Scalar.of(4);
    Scalar r = c.reciprocal();
    r.backward();
    assertEquals(0.25, r.value(), EXACT);
    assertEquals(-1.0 / 16, c.grad(), EXACT);

    Scalar num = Scalar.of(3);
    Scalar den = Scalar.of(4);
    Scalar q = num.div(den);
    q.backward();
    assertEquals(0.75, q.value(), EXACT);
    assertEquals(0.25, num.grad(), EXACT);
    assertEquals(-3.0 / 16, den.grad(), EXACT);
  }

  @Test
  void softmaxCrossEntropyGradientIsPMinusT() {
    // softmax(0, ln 3) = (1/4, 3/4)
    Scalar z0 = Scalar.of(0);
    Scalar z1 = Scalar.of(Math.log(3));
    Scalar ce = Scalar.softmaxCrossEntropy(List.of(z0, z1), 1);
    ce.scale(0.5).backward();
    assertEquals(-Math.log(0.75), ce.value(), 1e-15);
    assertEquals(0.5 * 0.25, z0.grad(), 1e-15);
    assertEquals(0.5 * (0.75 - 1), z1.grad(), 1e-15);
    assertThrows(
        IllegalArgumentException.class, () -> Scalar.softmaxCrossEntropy(List.of(z0, z1), 2));
  }

  @Test
  void fusedSoftmaxCrossEntropyMatchesTheGraphOfExpSumDivideLog() {
    SplitMix64 rng = new SplitMix64(7);
    for (int trial = 0; trial < 5; trial++) {
      int n = 2 + trial;
      int target = rng.nextInt(n);
      List<Scalar> fusedIn = new ArrayList<>();
      List<Scalar> composedIn = new ArrayList<>();
      for (int j = 0; j < n; j++) {
        double v = 4 * rng.nextDouble() - 2;
        fusedIn.add(Scalar.of(v));
        composedIn.add(Scalar.of(v));
      }
      Scalar fused = Scalar.softmaxCrossEntropy(fusedIn, target);
      fused.backward();

      List<Scalar> exps = new ArrayList<>();
      for (Scalar z : composedIn) {
        exps.add(z.exp());
      }
      Scalar p = exps.get(target).div(Scalar.sum(exps));
      Scalar composed = p.log().scale(-1);
      composed.backward();

      assertEquals(composed.value(), fused.value(), 1e-12);
      for (int j = 0; j < n; j++) {
        assertEquals(composedIn.get(j).grad(), fusedIn.get(j).grad(), 1e-12, "logit " + j);
      }
    }
  }

  @Test
  void backwardResetsGradientsSoThatItCanRunTwice() {
    Scalar a = Scalar.of(3);
    Scalar b = Scalar.of(2);
    Scalar out = a.mul(b).sigmoid();
    out.backward();
    double first = a.grad();
    out.backward();
    assertEquals(first, a.grad(), EXACT);
    assertEquals(1, out.grad(), EXACT);
  }

  @Test
  void topologicalOrderPutsInputsBeforeTheirOpsAndTheRootLast() {
    Scalar a = Scalar.of(1, "a");
    Scalar b = Scalar.of(2, "b");
    Scalar c = a.mul(b).withLabel("c");
    Scalar d = c.add(a).withLabel("d");
    Scalar root = d.mul(c).tanh().withLabel("root");
    List<Scalar> order = root.topologicalOrder();
    assertEquals(6, order.size());
    assertSame(root, order.get(order.size() - 1));
    Map<Scalar, Integer> position = new IdentityHashMap<>();
    for (int i = 0; i < order.size(); i++) {
      assertTrue(position.put(order.get(i), i) == null, "node listed twice");
    }
    for (Scalar n : order) {
      for (Scalar child : n.children()) {
        assertTrue(position.get(child) < position.get(n), child + " after " + n);
      }
    }
    List<String> labels = order.stream().map(Scalar::label).toList();
    assertEquals(List.of("a", "b", "c", "d", "", "root"), labels);
  }

  @Test
  void deepChainsDoNotOverflowTheStack() {
    Scalar x = Scalar.of(1);
    Scalar y = x;
    for (int i = 0; i < 100_000; i++) {
      y = y.scale(1.0);
    }
    y.backward();
    assertEquals(1, x.grad(), EXACT);
  }
}
