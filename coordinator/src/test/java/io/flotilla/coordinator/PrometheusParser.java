package io.flotilla.coordinator;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict reader of the Prometheus text format (0.0.4) as a scraper applies it: every sample
 * belongs to a family declared by a TYPE line, a family's lines are contiguous, names and labels
 * are well formed, values are numbers.
 */
final class PrometheusParser {
  private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})? (\\S+)");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  record Sample(String name, Map<String, String> labels, double value) {}

  static List<Sample> parse(String text) {
    List<Sample> out = new ArrayList<>();
    Set<String> typed = new HashSet<>();
    Set<String> closed = new HashSet<>();
    String current = null;
    int n = 0;
    for (String line : text.split("\n")) {
      n++;
      if (line.isEmpty()) {
        continue;
      }
      if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
        String[] parts = line.split(" ", 4);
        if (parts.length < 4 || !NAME.matcher(parts[2]).matches()) {
          throw new AssertionError("line " + n + ": malformed " + line);
        }
        if (line.startsWith("# TYPE ")) {
          if (!Set.of("gauge", "counter", "histogram", "summary", "untyped").contains(parts[3])) {
            throw new AssertionError("line " + n + ": unknown type " + parts[3]);
          }
          if (!typed.add(parts[2])) {
            throw new AssertionError("line " + n + ": second TYPE for " + parts[2]);
          }
        }
        if (current != null && !current.equals(parts[2])) {
          closed.add(current);
        }
        current = parts[2];
        continue;
      }
      Matcher m = SAMPLE.matcher(line);
      if (!m.matches()) {
        throw new AssertionError("line " + n + ": not a sample: " + line);
      }
      String name = m.group(1);
      if (!typed.contains(name)) {
        throw new AssertionError("line " + n + ": sample of undeclared family " + name);
      }
      if (closed.contains(name) || (current != null && !current.equals(name))) {
        throw new AssertionError("line " + n + ": family " + name + " is not contiguous");
      }
      Map<String, String> labels = new LinkedHashMap<>();
      if (m.group(3) != null && !m.group(3).isEmpty()) {
        for (String pair : m.group(3).split(",(?=[a-zA-Z_][a-zA-Z0-9_]*=\")")) {
          Matcher l = LABEL.matcher(pair);
          if (!l.matches()) {
            throw new AssertionError("line " + n + ": malformed label " + pair);
          }
          labels.put(l.group(1), l.group(2));
        }
      }
      double v;
      try {
        v = Double.parseDouble(m.group(4));
      } catch (NumberFormatException e) {
        throw new AssertionError("line " + n + ": value is not a number: " + m.group(4));
      }
      out.add(new Sample(name, labels, v));
    }
    return out;
  }
}
