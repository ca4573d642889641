package io.gradflow.common.data;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;

/**
 * Turns the CLI's {@code --dataset} text into a {@link TrainTestSplit}. Accepted forms:
 *
 * <ul>
 *   <li>{@code fashion-mnist}, {@code mnist}: the four IDX files {@code train-images-idx3-ubyte},
 *       {@code train-labels-idx1-ubyte}, {@code t10k-images-idx3-ubyte},
 *       {@code t10k-labels-idx1-ubyte} (each raw or with {@code .gz}), 10 classes, looked up in
 *       this order: {@code /usr/share/datasets/NAME} (Debian's {@code dataset-fashion-mnist}),
 *       {@code DATA_DIR/NAME}, {@code DATA_DIR} (from {@code --data-dir}), {@code
 *       $GRADFLOW_DATA/NAME}, {@code $GRADFLOW_DATA}. The first directory holding any of the four
 *       files is used; if it lacks one, that is an error.
 *   <li>{@code idx:DIR}: the same four files in DIR; classes = largest label + 1 (at least 2).
 *   <li>{@code csv:TRAIN.csv[,TEST.csv]}: see {@link CsvReader}; with one file, a deterministic
 *       20% of its rows ({@link CsvReader#HOLDOUT_SEED}) is held out as the test set.
 *   <li>{@code spirals[:ARMS[:POINTS_PER_ARM]]}: {@link SyntheticData#spirals}, default 3 arms x
 *       1000 points, noise 0.2.
 *   <li>{@code blobs[:CLASSES[:POINTS[:FEATURES[:TEST_POINTS]]]]}: {@link SyntheticData#blobs},
 *       default 4 classes x 1000 points, 2 features, a test set of a quarter of the points, spread
 *       0.05.
 * </ul>
 *
 * <p>Synthetic sets use {@link #SYNTHETIC_SEED} or the seed given to {@link #load(String,
 * long)}. The environment and the
 * system directory are injected so that tests control them.
 */
public final class DatasetLoader {
  /** Where Debian's {@code dataset-*} packages put their files. */
  public static final Path SYSTEM_DATASETS = Path.of("/usr/share/datasets");

  /** Environment variable naming a directory of data sets. */
  public static final String DATA_ENV = "GRADFLOW_DATA";

  public static final int DEFAULT_SPIRAL_ARMS = 3;
  public static final int DEFAULT_SPIRAL_POINTS = 1000;
  public static final double DEFAULT_SPIRAL_NOISE = 0.2;
  public static final int DEFAULT_BLOB_CLASSES = 4;
  public static final int DEFAULT_BLOB_POINTS = 1000;
  public static final int DEFAULT_BLOB_FEATURES = 2;
  public static final double DEFAULT_BLOB_SPREAD = 0.05;
  public static final double CSV_HOLDOUT_FRACTION = 0.2;

  /**
   * Seed of the synthetic sets loaded by {@link #load(String)}: fixed, so that a synthetic data
   * set, like a file, does not change with the training seed.
   */
  public static final long SYNTHETIC_SEED = 42;

  /** Base names of the four IDX files, in the order train images, train labels, test ... */
  public static final List<String> IDX_FILES =
      List.of(
          "train-images-idx3-ubyte",
          "train-labels-idx1-ubyte",
          "t10k-images-idx3-ubyte",
          "t10k-labels-idx1-ubyte");

  private static final List<String> FORMS =
      List.of(
          "fashion-mnist",
          "mnist",
          "idx:DIR",
          "csv:TRAIN.csv[,TEST.csv]",
          "spirals[:ARMS[:POINTS_PER_ARM]]",
          "blobs[:CLASSES[:POINTS[:FEATURES[:TEST_POINTS]]]]");

  private final Path systemDir;
  private final Path dataDir;
  private final Function<String, String> env;

  /**
   * @param systemDir where packaged data sets live ({@link #SYSTEM_DATASETS}), or null for none
   * @param dataDir the {@code --data-dir} option, or null
   * @param env environment lookup, {@code System::getenv} outside tests
   */
  public DatasetLoader(Path systemDir, Path dataDir, Function<String, String> env) {
    this.systemDir = systemDir;
    this.dataDir = dataDir;
    this.env = env;
  }

  /** A loader over the real system directory and process environment. */
  public static DatasetLoader fromSystem(Path dataDir) {
    return new DatasetLoader(SYSTEM_DATASETS, dataDir, System::getenv);
  }

  /** The accepted {@code --dataset} forms, e.g. {@code spirals[:ARMS[:POINTS_PER_ARM]]}. */
  public static List<String> acceptedForms() {
    return FORMS;
  }

  /** Help text: one line per accepted form with what it loads. */
  public static String describeForms() {
    return String.join(
        "\n",
        "fashion-mnist                    Fashion-MNIST (28x28, 10 classes): /usr/share/datasets,"
            + " --data-dir or $" + DATA_ENV,
        "mnist                            MNIST, same IDX layout and lookup",
        "idx:DIR                          the four IDX files (train-/t10k-images/labels) in DIR",
        "csv:TRAIN.csv[,TEST.csv]         label column + features; one file: 20% held out",
        "spirals[:ARMS[:POINTS_PER_ARM]]  K-arm spiral, 2 features (default 3:1000)",
        "blobs[:CLASSES[:POINTS[:FEATURES[:TEST_POINTS]]]] Gaussian clusters (default 4:1000:2,"
            + " test set a quarter of the points)");
  }

  /** Loads {@code spec}; synthetic sets are drawn from {@link #SYNTHETIC_SEED}. */
  public TrainTestSplit load(String spec) {
    return load(spec, SYNTHETIC_SEED);
  }

  /**
   * Loads {@code spec}; synthetic sets are drawn from {@code seed}.
   *
   * @throws IllegalArgumentException if {@code spec} is not one of the {@link #acceptedForms()}
   * @throws DataException if the data set is missing or malformed
   */
  public TrainTestSplit load(String spec, long seed) {
    Form f = Form.of(spec);
    switch (f.kind()) {
      case "fashion-mnist":
      case "mnist":
        return loadNamedIdx(f.kind());
      case "idx":
        return loadIdxDir(f.path());
      case "csv":
        return loadCsv(f.path());
      case "spirals":
        {
          int arms = f.numbers()[0] > 0 ? f.numbers()[0] : DEFAULT_SPIRAL_ARMS;
          int points = f.numbers()[1] > 0 ? f.numbers()[1] : DEFAULT_SPIRAL_POINTS;
          return SyntheticData.spirals(arms, points, DEFAULT_SPIRAL_NOISE, seed);
        }
      default: // blobs: Form.of refuses every other kind
        {
          int[] a = f.numbers();
          int classes = a[0] > 0 ? a[0] : DEFAULT_BLOB_CLASSES;
          int points = a[1] > 0 ? a[1] : DEFAULT_BLOB_POINTS;
          int features = a[2] > 0 ? a[2] : DEFAULT_BLOB_FEATURES;
          int testPoints = a[3] > 0 ? a[3] : SyntheticData.defaultBlobTestPoints(classes, points);
          return SyntheticData.blobs(classes, points, features, testPoints, DEFAULT_BLOB_SPREAD, seed);
        }
    }
  }

  /**
   * The training set of {@code spec} alone, as {@link #load(String)} gives it: a worker trains on
   * it and never evaluates, so the IDX forms leave the test images unread (the other forms load
   * whole; a CSV's held-out rows depend on the whole file).
   *
   * @throws IllegalArgumentException if {@code spec} is not one of the {@link #acceptedForms()}
   * @throws DataException if the data set is missing or malformed
   */
  public Dataset loadTrain(String spec) {
    Form f = Form.of(spec);
    return switch (f.kind()) {
      case "fashion-mnist", "mnist" -> readIdxTrain(namedIdxDir(f.kind()), f.kind(), IdxReader.MNIST_CLASSES);
      case "idx" -> readIdxTrain(idxDir(f.path()), "idx:" + f.path(), 0);
      default -> load(spec).train();
    };
  }

  /**
   * Checks that {@code spec} is one of the {@link #acceptedForms()} with well-formed numbers,
   * without loading anything (a job script written here runs where the data is).
   *
   * @throws IllegalArgumentException if it is not
   */
  public static void checkForm(String spec) {
    Form.of(spec);
  }

  /**
   * A {@code --dataset} spec checked for form: its kind (lower case), the path of {@code idx:} and
   * {@code csv:}, or the numbers of {@code spirals:} and {@code blobs:} (0 where left out).
   */
  private record Form(String kind, String path, int[] numbers) {
    /** @throws IllegalArgumentException if {@code spec} is not one of the {@link #acceptedForms()} */
    static Form of(String spec) {
      String s = spec == null ? "" : spec.trim();
      String lower = s.toLowerCase(Locale.ROOT);
      int colon = s.indexOf(':');
      String kind = colon < 0 ? lower : lower.substring(0, colon);
      String rest = colon < 0 ? null : s.substring(colon + 1);
      return switch (kind) {
        case "fashion-mnist", "mnist" -> {
          if (rest != null) {
            throw unknown(s);
          }
          yield new Form(kind, null, null);
        }
        case "idx" -> new Form(kind, requireArg(s, rest, "idx:DIR"), null);
        case "csv" -> new Form(kind, requireArg(s, rest, "csv:TRAIN.csv[,TEST.csv]"), null);
        case "spirals" -> new Form(kind, null, ints(s, rest, "spirals[:ARMS[:POINTS_PER_ARM]]", "ARMS", "POINTS_PER_ARM"));
        case "blobs" -> new Form(kind, null, ints(s, rest, "blobs[:CLASSES[:POINTS[:FEATURES[:TEST_POINTS]]]]", "CLASSES",
            "POINTS", "FEATURES", "TEST_POINTS"));
        default -> throw unknown(s);
      };
    }
  }

  /** The directories searched for {@code name} ({@code fashion-mnist}, {@code mnist}), in order. */
  public List<Path> searchPath(String name) {
    Set<Path> dirs = new LinkedHashSet<>();
    if (systemDir != null) {
      dirs.add(systemDir.resolve(name));
    }
    if (dataDir != null) {
      dirs.add(dataDir.resolve(name));
      dirs.add(dataDir);
    }
    String envDir = env.apply(DATA_ENV);
    if (envDir != null && !envDir.isBlank()) {
      try {
        Path p = Path.of(envDir.trim());
        dirs.add(p.resolve(name));
        dirs.add(p);
      } catch (InvalidPathException e) {
        throw new DataException("$" + DATA_ENV + "='" + envDir + "' is not a valid path");
      }
    }
    return new ArrayList<>(dirs);
  }

  private TrainTestSplit loadNamedIdx(String name) {
    return readIdx(namedIdxDir(name), name, IdxReader.MNIST_CLASSES);
  }

  /** The first directory of {@link #searchPath} with an IDX file of {@code name}. */
  private Path namedIdxDir(String name) {
    List<Path> dirs = searchPath(name);
    for (Path dir : dirs) {
      if (hasAnyIdxFile(dir)) {
        return dir;
      }
    }
    List<String> where = new ArrayList<>();
    for (Path d : dirs) {
      where.add(d.toString());
    }
    if (env.apply(DATA_ENV) == null || env.apply(DATA_ENV).isBlank()) {
      where.add("$" + DATA_ENV + " (not set)");
    }
    String how =
        name.equals("fashion-mnist")
            ? "install it with 'apt-get install dataset-fashion-mnist' or pass --data-dir DIR"
            : "put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,"
                + " t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz in a directory"
                + " and pass --data-dir DIR";
    throw new DataException(name + " not found in " + String.join(", ", where) + ": " + how);
  }

  private TrainTestSplit loadIdxDir(String dirText) {
    return readIdx(idxDir(dirText), "idx:" + dirText, 0);
  }

  /** The directory of {@code idx:DIR}, which must exist. */
  private static Path idxDir(String dirText) {
    Path dir = path(dirText, "idx:DIR");
    if (!Files.isDirectory(dir)) {
      throw new DataException(dir + ": directory not found (from --dataset idx:" + dirText + ")");
    }
    return dir;
  }

  /** Reads the four files of {@code dir}; {@code classes} 0 means largest label + 1. */
  private static TrainTestSplit readIdx(Path dir, String name, int classes) {
    Path[] f = idxFiles(dir, name);
    classes = classes(f, classes);
    Dataset train = IdxReader.read(f[0], f[1], name + " train", classes);
    Dataset test = IdxReader.read(f[2], f[3], name + " test", classes);
    if (test.features() != train.features()) {
      throw new DataException(f[2] + ": images of " + test.features() + " pixels: expected " + train.features()
          + ", the size of the training images in " + f[0].getFileName());
    }
    return new TrainTestSplit(train, test, InputScaling.idx(train.features()));
  }

  /** The training set of {@link #readIdx}, the same classes, without reading the test images. */
  private static Dataset readIdxTrain(Path dir, String name, int classes) {
    Path[] f = idxFiles(dir, name);
    return IdxReader.read(f[0], f[1], name + " train", classes(f, classes));
  }

  /** The four files of {@code dir} (each raw or gzipped) in {@link #IDX_FILES}' order; all must be there. */
  private static Path[] idxFiles(Path dir, String name) {
    Path[] f = new Path[4];
    List<String> missing = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      f[i] = findIdxFile(dir, IDX_FILES.get(i));
      if (f[i] == null) {
        missing.add(IDX_FILES.get(i) + "[.gz]");
      }
    }
    if (!missing.isEmpty()) {
      throw new DataException(
          name + " in " + dir + " is incomplete: missing " + String.join(", ", missing));
    }
    return f;
  }

  /** {@code classes}, or for 0 the largest label of both label files + 1 (at least 2). */
  private static int classes(Path[] f, int classes) {
    if (classes == 0) {
      // Labels files are small (one byte per image): read them once more to size the classes.
      int max = 0;
      for (int i : new int[] {1, 3}) {
        for (int y : IdxReader.readLabels(f[i])) {
          max = Math.max(max, y);
        }
      }
      classes = Math.max(2, max + 1);
    }
    return classes;
  }

  private static boolean hasAnyIdxFile(Path dir) {
    if (!Files.isDirectory(dir)) {
      return false;
    }
    for (String base : IDX_FILES) {
      if (findIdxFile(dir, base) != null) {
        return true;
      }
    }
    return false;
  }

  /** {@code dir/base} if it exists, else {@code dir/base.gz}, else null. */
  private static Path findIdxFile(Path dir, String base) {
    Path raw = dir.resolve(base);
    if (Files.isRegularFile(raw)) {
      return raw;
    }
    Path gz = dir.resolve(base + ".gz");
    return Files.isRegularFile(gz) ? gz : null;
  }

  private static TrainTestSplit loadCsv(String files) {
    int comma = files.indexOf(',');
    if (comma < 0) {
      Path train = path(files, "csv:TRAIN.csv[,TEST.csv]");
      return CsvReader.readWithHoldout(train, CSV_HOLDOUT_FRACTION, CsvReader.HOLDOUT_SEED);
    }
    String trainText = files.substring(0, comma).trim();
    String testText = files.substring(comma + 1).trim();
    if (trainText.isEmpty() || testText.isEmpty() || testText.contains(",")) {
      throw new IllegalArgumentException(
          "dataset 'csv:" + files + "': expected csv:TRAIN.csv or csv:TRAIN.csv,TEST.csv");
    }
    return CsvReader.read(
        path(trainText, "csv:TRAIN.csv[,TEST.csv]"), path(testText, "csv:TRAIN.csv[,TEST.csv]"));
  }

  private static Path path(String text, String form) {
    try {
      return Path.of(text.trim());
    } catch (InvalidPathException e) {
      throw new IllegalArgumentException(
          "dataset " + form + ": '" + text + "' is not a valid path");
    }
  }

  private static String requireArg(String spec, String rest, String form) {
    if (rest == null || rest.isBlank()) {
      throw new IllegalArgumentException("dataset '" + spec + "': expected " + form);
    }
    return rest;
  }

  /** Parses up to two positive ints after the kind; 0 marks an absent value. */
  private static int[] ints(String spec, String rest, String form, String... names) {
    int[] out = new int[names.length];
    if (rest == null) {
      return out;
    }
    String[] parts = rest.split(":", -1);
    if (parts.length > names.length) {
      throw new IllegalArgumentException("dataset '" + spec + "': expected " + form);
    }
    for (int i = 0; i < parts.length; i++) {
      int v;
      try {
        v = Integer.parseInt(parts[i].trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "dataset '" + spec + "': " + names[i] + " '" + parts[i]
                + "' is not a whole number: expected " + form);
      }
      if (v <= 0) {
        throw new IllegalArgumentException(
            "dataset '" + spec + "': " + names[i] + " " + v + " must be positive: expected "
                + form);
      }
      out[i] = v;
    }
    return out;
  }

  private static IllegalArgumentException unknown(String spec) {
    return new IllegalArgumentException(
        "unknown dataset '" + spec + "': expected one of " + String.join(", ", FORMS));
  }
}
