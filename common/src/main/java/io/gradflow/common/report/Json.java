package io.gradflow.common.report;

import com.google.gson.FieldNamingPolicy;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonSerializer;
import com.google.gson.Strictness;
import com.google.gson.TypeAdapter;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import com.google.gson.stream.JsonWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * gradflow's JSON, through Gson configured once: record components {@code camelCase} become
 * fields {@code snake_case} ({@code weightsSha256} is {@code weights_sha256}); doubles are written
 * in Java's shortest round-trip form ({@code 0.8734}, {@code 15.0}, {@code 1.0E-4}) and integers
 * as integers; a non-finite double, which JSON cannot hold, is written {@code null} and read back
 * as NaN; no HTML escaping; reading is strict RFC 8259.
 *
 * <p>An instance is an object built field by field, for output without a record of its own
 * ({@code bench --json}); keys keep their insertion order.
 */
public final class Json {
  private static final Gson COMPACT = new GsonBuilder()
      .setFieldNamingPolicy(FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES)
      .registerTypeAdapter(double.class, new NullForNonFinite())
      .registerTypeAdapter(Double.class, new NullForNonFinite())
      .registerTypeAdapter(Json.class, (JsonSerializer<Json>) (src, type, context) -> context.serialize(src.fields))
      .serializeNulls() // a non-finite double is "name": null, not a missing field
      .disableHtmlEscaping()
      .setStrictness(Strictness.STRICT)
      .create();
  private static final Gson PRETTY = COMPACT.newBuilder().setPrettyPrinting().create();

  private final Map<String, Object> fields = new LinkedHashMap<>();

  public Json put(String key, Object value) {
    fields.put(key, value);
    return this;
  }

  public Object get(String key) {
    return fields.get(key);
  }

  /** One line, as metrics.jsonl and {@code --json} outputs are written. */
  @Override
  public String toString() {
    return line(fields);
  }

  /** One field per line, ending with a newline (summary.json). */
  public String toPrettyString() {
    return pretty(fields);
  }

  /** {@code value} as JSON on one line. */
  public static String line(Object value) {
    return COMPACT.toJson(value);
  }

  /** {@code value} as indented JSON, one field per line, ending with a newline. */
  public static String pretty(Object value) {
    return PRETTY.toJson(value) + "\n";
  }

  /** {@code value} as a JSON tree (to add fields before writing it). */
  public static JsonElement tree(Object value) {
    return COMPACT.toJsonTree(value);
  }

  /**
   * Parses {@code json} into a {@code type}; {@code source} names it in the message.
   *
   * @throws JsonParseException "SOURCE: not valid JSON for TYPE: ..." when it is not
   */
  public static <T> T parse(String json, Class<T> type, String source) {
    try {
      T value = COMPACT.fromJson(json, type);
      if (value == null) {
        throw new JsonParseException("empty");
      }
      return value;
    } catch (JsonParseException e) {
      throw new JsonParseException(source + ": not valid JSON for " + type.getSimpleName() + ": " + reason(e), e);
    }
  }

  /**
   * Gson's reason for refusing a text, in one line: the deepest cause's message without the
   * exception's class, its "Use JsonReader.setStrictness..." advice (meant for programmers) and the
   * "See https://..." line after it; what is left says what was wrong and where ("Unterminated
   * string at line 1 column 57 path $.message").
   */
  static String reason(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null) {
      t = t.getCause();
    }
    String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    message = message.lines().findFirst().orElse("").strip();
    return message.replace("Use JsonReader.setStrictness(Strictness.LENIENT) to accept malformed JSON ", "").strip();
  }

  /** As {@link #parse(String, Class, String)} for a tree already parsed. */
  public static <T> T parse(JsonElement json, Class<T> type, String source) {
    try {
      return COMPACT.fromJson(json, type);
    } catch (JsonParseException e) {
      throw new JsonParseException(source + ": not valid JSON for " + type.getSimpleName() + ": " + reason(e), e);
    }
  }

  /** Reads {@code file} as a {@code type}. */
  public static <T> T read(Path file, Class<T> type) {
    try {
      return parse(Files.readString(file, StandardCharsets.UTF_8), type, file.toString());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Writes {@code value}, indented, to {@code file} atomically ({@link AtomicTextFile}): a failure
   * removes the temporary file and throws an {@link OutputException}.
   */
  public static void writePretty(Path file, Object value) {
    AtomicTextFile.write(file, pretty(value));
  }

  /** Doubles as Java writes them; NaN and infinities, which JSON has not, as null (read as NaN). */
  private static final class NullForNonFinite extends TypeAdapter<Double> {
    @Override
    public void write(JsonWriter out, Double value) throws IOException {
      if (value == null || !Double.isFinite(value)) {
        out.nullValue();
      } else {
        out.value(value.doubleValue());
      }
    }

    @Override
    public Double read(JsonReader in) throws IOException {
      if (in.peek() == JsonToken.NULL) {
        in.nextNull();
        return Double.NaN;
      }
      return in.nextDouble();
    }
  }
}
