package io.gradflow.common.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParseException;
import java.util.List;
import org.junit.jupiter.api.Test;

class JsonTest {
  record Sample(long stepsMeasured, int workers, double testAccuracy, double tiny, double whole, double notFinite,
      String weightsSha256, double[] gradNorms) {}

  private static final Sample SAMPLE =
      new Sample(40, 2, 0.8734, 1e-4, 15.0, Double.NaN, "a=b<c>\"d\"\n", new double[] {0.5, 2.25e-7});

  @Test
  void numbersAreWrittenAsJavaWritesThemAndFieldsInSnakeCase() {
    assertEquals(
        "{\"steps_measured\":40,\"workers\":2,\"test_accuracy\":0.8734,\"tiny\":1.0E-4,\"whole\":15.0,"
            + "\"not_finite\":null,\"weights_sha256\":\"a=b<c>\\\"d\\\"\\n\",\"grad_norms\":[0.5,2.25E-7]}",
        Json.line(SAMPLE));
  }

  @Test
  void prettyIsOneFieldPerLineEndingWithANewline() {
    Json j = new Json().put("steps", 40L).put("lr", 0.1).put("kernels", "vector-512").put("none", Double.POSITIVE_INFINITY);
    assertEquals("{\n  \"steps\": 40,\n  \"lr\": 0.1,\n  \"kernels\": \"vector-512\",\n  \"none\": null\n}\n",
        j.toPrettyString());
    assertEquals("{\"steps\":40,\"lr\":0.1,\"kernels\":\"vector-512\",\"none\":null}", j.toString());
    assertEquals("{\"rows\":[{\"a\":1}],\"n\":3}", new Json().put("rows", List.of(new Json().put("a", 1))).put("n", 3).toString());
  }

  @Test
  void readsBackWhatItWroteWithNullAsNaN() {
    Sample back = Json.parse(Json.pretty(SAMPLE), Sample.class, "sample");
    assertEquals(40, back.stepsMeasured());
    assertEquals(0.8734, back.testAccuracy());
    assertEquals(1e-4, back.tiny());
    assertTrue(Double.isNaN(back.notFinite()));
    assertEquals(SAMPLE.weightsSha256(), back.weightsSha256());
    assertEquals(2.25e-7, back.gradNorms()[1]);
  }

  @Test
  void malformedJsonIsRefusedNamingTheSource() {
    for (String bad : List.of("{\"workers\": 2", "{\"workers\": NaN}", "{\"workers\": 2} x", "{workers: 2}", "")) {
      JsonParseException e = assertThrows(JsonParseException.class, () -> Json.parse(bad, Sample.class, "run/summary.json"));
      assertTrue(e.getMessage().startsWith("run/summary.json: not valid JSON for Sample: "), e.getMessage());
      // one line for the user: no exception class, no advice for programmers, no link
      assertFalse(e.getMessage().contains("\n") || e.getMessage().contains("Exception") || e.getMessage().contains("JsonReader")
          || e.getMessage().contains("https://"), e.getMessage());
    }
    JsonParseException e = assertThrows(JsonParseException.class,
        () -> Json.parse("{\"kind\": \"joined", Sample.class, "run/metrics.jsonl line 3"));
    assertEquals("run/metrics.jsonl line 3: not valid JSON for Sample: Unterminated string at line 1 column 17 path $.kind",
        e.getMessage());
  }
}
