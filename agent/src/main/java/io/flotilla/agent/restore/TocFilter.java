package io.flotilla.agent.restore;

import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Picks the entries of a pg_restore table of contents ({@code pg_restore -l}) that restore some
 * tables: their schemas, definitions, data, defaults, constraints, triggers, and the sequences
 * named after them (serial and identity columns). Foreign keys and indexes are left out, as
 * {@code pg_restore -t} does, since they may refer to tables not restored.
 */
final class TocFilter {
  /** Entry descriptors, longest first so "TABLE DATA" wins over "TABLE". */
  private static final List<String> DESCRIPTORS = List.of("SEQUENCE OWNED BY", "SEQUENCE SET", "FK CONSTRAINT", "TABLE DATA",
      "CONSTRAINT", "DEFAULT", "SEQUENCE", "SCHEMA", "TRIGGER", "TABLE", "INDEX", "COMMENT", "ACL", "VIEW", "FUNCTION");

  private TocFilter() {}

  /** A requested table, from SCHEMA.TABLE (schema defaults to public). */
  record TableName(String schema, String table) {
    static TableName parse(String spec) {
      int dot = spec.indexOf('.');
      if (dot < 0) {
        return new TableName("public", spec);
      }
      if (dot == 0 || dot == spec.length() - 1) {
        throw new FlotillaException(ErrorCode.USAGE, "--table must be SCHEMA.TABLE, got '" + spec + "'");
      }
      return new TableName(spec.substring(0, dot), spec.substring(dot + 1));
    }

    @Override
    public String toString() {
      return schema + "." + table;
    }
  }

  static String filter(String toc, List<TableName> tables) {
    List<String> kept = new ArrayList<>();
    Set<TableName> found = new LinkedHashSet<>();
    Set<String> schemas = new LinkedHashSet<>();
    tables.forEach(t -> schemas.add(t.schema()));
    for (String line : toc.split("\n")) {
      if (line.startsWith(";") || line.isBlank()) {
        continue;
      }
      int semi = line.indexOf(';');
      if (semi < 0) {
        continue;
      }
      // "<dumpId>; <catalogOid> <objectOid> <DESC> <schema> <tag> <owner>"
      String[] head = line.substring(semi + 1).trim().split(" ", 3);
      if (head.length < 3) {
        continue;
      }
      String rest = head[2];
      String desc = DESCRIPTORS.stream().filter(d -> rest.startsWith(d + " ")).findFirst().orElse(null);
      if (desc == null) {
        continue;
      }
      String afterDesc = rest.substring(desc.length() + 1);
      int sp = afterDesc.indexOf(' ');
      if (sp < 0) {
        continue;
      }
      String schema = afterDesc.substring(0, sp);
      String tagAndOwner = afterDesc.substring(sp + 1);
      if (desc.equals("SCHEMA")) {
        String name = tagAndOwner.contains(" ") ? tagAndOwner.substring(0, tagAndOwner.lastIndexOf(' ')) : tagAndOwner;
        if (schemas.contains(name) && !name.equals("public")) {
          kept.add(line);
        }
        continue;
      }
      for (TableName t : tables) {
        if (!t.schema().equals(schema)) {
          continue;
        }
        boolean keep = switch (desc) {
          case "TABLE", "TABLE DATA" -> tagAndOwner.startsWith(t.table() + " ") && tagAndOwner.indexOf(' ', t.table().length() + 1) < 0;
          case "DEFAULT", "CONSTRAINT", "TRIGGER" -> tagAndOwner.startsWith(t.table() + " ");
          case "SEQUENCE", "SEQUENCE OWNED BY", "SEQUENCE SET" -> tagAndOwner.startsWith(t.table() + "_");
          default -> false;
        };
        if (keep) {
          kept.add(line);
          if (desc.equals("TABLE")) {
            found.add(t);
          }
          break;
        }
      }
    }
    List<TableName> missing = tables.stream().filter(t -> !found.contains(t)).toList();
    if (!missing.isEmpty()) {
      throw new FlotillaException(ErrorCode.NOT_FOUND, "table" + (missing.size() > 1 ? "s " : " ")
          + String.join(", ", missing.stream().map(TableName::toString).toList()) + " not found in the backup");
    }
    return String.join("\n", kept) + "\n";
  }
}
