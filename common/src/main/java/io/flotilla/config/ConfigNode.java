package io.flotilla.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * A YAML node with its key path, so every validation error names the key that is wrong
 * (for example {@code repositories[1].url}).
 */
final class ConfigNode {
  private final JsonNode node;
  private final String path;

  ConfigNode(JsonNode node, String path) {
    this.node = node;
    this.path = path;
  }

  String path() {
    return path;
  }

  String keyPath(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  FlotillaException error(String key, String problem) {
    return new FlotillaException(ErrorCode.CONFIG, "config key " + keyPath(key) + ": " + problem);
  }

  /** Rejects keys that are not in {@code known}: a typo must not silently fall back to a default. */
  void onlyKeys(Set<String> known) {
    if (!node.isObject()) {
      throw new FlotillaException(ErrorCode.CONFIG, "config key " + (path.isEmpty() ? "(top level)" : path) + ": expected a mapping");
    }
    Iterator<String> names = node.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (!known.contains(name)) {
        throw error(name, "unknown key (known keys here: " + String.join(", ", new java.util.TreeSet<>(known)) + ")");
      }
    }
  }

  /** The keys of this mapping, in file order. */
  List<String> keys() {
    List<String> out = new ArrayList<>();
    node.fieldNames().forEachRemaining(out::add);
    return out;
  }

  boolean isMapping(String key) {
    JsonNode v = node.get(key);
    return v != null && v.isObject();
  }

  boolean has(String key) {
    JsonNode v = node.get(key);
    return v != null && !v.isNull();
  }

  String string(String key, String defaultValue) {
    JsonNode v = node.get(key);
    if (v == null || v.isNull()) {
      return defaultValue;
    }
    if (!v.isValueNode()) {
      throw error(key, "expected a single value");
    }
    String s = v.asText().trim();
    return s.isEmpty() ? defaultValue : s;
  }

  String requiredString(String key) {
    String s = string(key, null);
    if (s == null) {
      throw error(key, "is required");
    }
    return s;
  }

  int integer(String key, int defaultValue, int min, int max) {
    JsonNode v = node.get(key);
    if (v == null || v.isNull()) {
      return defaultValue;
    }
    if (!v.canConvertToInt() || !(v.isIntegralNumber() || v.asText().matches("-?\\d+"))) {
      throw error(key, "expected a whole number, got '" + v.asText() + "'");
    }
    int i = v.isIntegralNumber() ? v.intValue() : Integer.parseInt(v.asText());
    if (i < min || i > max) {
      throw error(key, "must be between " + min + " and " + max + ", got " + i);
    }
    return i;
  }

  boolean bool(String key, boolean defaultValue) {
    JsonNode v = node.get(key);
    if (v == null || v.isNull()) {
      return defaultValue;
    }
    if (v.isBoolean()) {
      return v.booleanValue();
    }
    String s = v.asText();
    if (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false")) {
      return Boolean.parseBoolean(s);
    }
    throw error(key, "expected true or false, got '" + s + "'");
  }

  ConfigNode child(String key) {
    JsonNode v = node.get(key);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isObject()) {
      throw error(key, "expected a mapping");
    }
    return new ConfigNode(v, keyPath(key));
  }

  List<ConfigNode> list(String key) {
    JsonNode v = node.get(key);
    List<ConfigNode> out = new ArrayList<>();
    if (v == null || v.isNull()) {
      return out;
    }
    if (!v.isArray()) {
      throw error(key, "expected a list");
    }
    for (int i = 0; i < v.size(); i++) {
      out.add(new ConfigNode(v.get(i), keyPath(key) + "[" + i + "]"));
    }
    return out;
  }

  /** A list of strings; a single string is taken as a list of one. */
  List<String> strings(String key) {
    JsonNode v = node.get(key);
    List<String> out = new ArrayList<>();
    if (v == null || v.isNull()) {
      return out;
    }
    if (v.isValueNode()) {
      out.add(v.asText().trim());
      return out;
    }
    if (!v.isArray()) {
      throw error(key, "expected a list of values");
    }
    for (int i = 0; i < v.size(); i++) {
      if (!v.get(i).isValueNode() || v.get(i).asText().isBlank()) {
        throw error(key + "[" + i + "]", "expected a non-empty value");
      }
      out.add(v.get(i).asText().trim());
    }
    return out;
  }

  /** A duration written as 90s, 15m, 1h, 7d (or ISO-8601 like PT15M); null when absent. */
  java.time.Duration duration(String key) {
    String s = string(key, null);
    if (s == null) {
      return null;
    }
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)\\s*([smhd])").matcher(s);
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      return switch (m.group(2)) {
        case "s" -> java.time.Duration.ofSeconds(n);
        case "m" -> java.time.Duration.ofMinutes(n);
        case "h" -> java.time.Duration.ofHours(n);
        default -> java.time.Duration.ofDays(n);
      };
    }
    try {
      return java.time.Duration.parse(s);
    } catch (java.time.format.DateTimeParseException e) {
      throw error(key, "expected a duration like 30s, 15m, 4h or 7d, got '" + s + "'");
    }
  }
}
