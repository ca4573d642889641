package io.gradflow.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InputScalingTest {
  @TempDir Path dir;

  @Test
  void idxScalingEqualsTheReadersDivisionForEveryByte() {
    InputScaling s = InputScaling.idx(1);
    for (int v = 0; v < 256; v++) {
      assertEquals(Float.floatToRawIntBits(v / 255f), Float.floatToRawIntBits(s.apply(0, v)), "v=" + v);
    }
  }

  @Test
  void csvScalingReproducesTheTestSplitBitForBit() throws Exception {
    Path train = dir.resolve("train.csv");
    Path test = dir.resolve("test.csv");
    Files.writeString(train, "y,a,b,c\n0,1.5,-3,7\n1,2.25,10,7\n0,0.1,4,7\n");
    Files.writeString(test, "1,0.7,-5,8\n0,3,2.2,7\n");
    TrainTestSplit split = CsvReader.read(train, test);
    assertEquals(InputScaling.CSV_KIND, split.scaling().kind());
    float[] raw = CsvReader.readTable(test, 4).values().clone();
    split.scaling().applyInPlace(raw, 2);
    assertArrayEquals(split.test().inputs(), raw);
  }

  @Test
  void noneLeavesInputsAlone() {
    float[] x = {0.5f, 300f};
    InputScaling.NONE.applyInPlace(x, 1);
    assertArrayEquals(new float[] {0.5f, 300f}, x);
    assertTrue(InputScaling.NONE.isNone());
  }
}
