package io.flotilla.agent.restore;

import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Picks the entries of a pg_restore table of contents ({@code pg_restore -l}) that restore some
 * tables into a new database.
 *
 * <p>Kept: the requested tables' definitions, data, defaults, constraints and triggers, the
 * sequences named after them (serial and identity columns), and every definition a table may need
 * that holds no data of its own (schemas, types, domains, functions, extensions, collations, text
 * search configurations...). Left out: other tables and their data, indexes, foreign keys, views,
 * large objects, comments and grants, as {@code pg_restore -t} leaves them out, since they may refer
 * to tables that are not restored.
 */
final class TocFilter {
  /** Multi-word entry descriptors; any other descriptor is one word. Longest first. */
  private static final List<String> MULTI_WORD = List.of("MATERIALIZED VIEW DATA", "SEQUENCE OWNED BY", "TEXT SEARCH CONFIGURATION",
      "TEXT SEARCH DICTIONARY", "TEXT SEARCH PARSER", "TEXT SEARCH TEMPLATE", "FOREIGN DATA WRAPPER", "PUBLICATION TABLE",
      "PUBLICATION TABLES IN SCHEMA", "MATERIALIZED VIEW", "DATABASE PROPERTIES", "BLOB METADATA", "LARGE OBJECT", "OPERATOR CLASS",
      "OPERATOR FAMILY", "FOREIGN TABLE", "EVENT TRIGGER", "ROW SECURITY", "TABLE ATTACH", "INDEX ATTACH", "FK CONSTRAINT",
      "SHELL TYPE", "SEQUENCE SET", "SERVER", "USER MAPPING", "DEFAULT ACL", "TABLE DATA", "BLOB DATA");

  /** Entries that belong to one table: kept only for the requested tables. */
  private static final Set<String> TABLE_SCOPED = Set.of("TABLE", "TABLE DATA", "DEFAULT", "CONSTRAINT", "TRIGGER",
      "SEQUENCE", "SEQUENCE OWNED BY", "SEQUENCE SET");

  /** Entries never kept for a table restore. */
  private static final Set<String> LEFT_OUT = Set.of("INDEX", "INDEX ATTACH", "FK CONSTRAINT", "VIEW", "MATERIALIZED VIEW",
      "MATERIALIZED VIEW DATA", "BLOB", "BLOBS", "BLOB DATA", "BLOB METADATA", "LARGE OBJECT", "COMMENT", "ACL", "DEFAULT ACL",
      "POLICY", "ROW SECURITY", "RULE", "STATISTICS", "TABLE ATTACH", "PUBLICATION", "PUBLICATION TABLE",
      "PUBLICATION TABLES IN SCHEMA", "SUBSCRIPTION", "EVENT TRIGGER", "FOREIGN TABLE", "DATABASE", "DATABASE PROPERTIES",
      "SECURITY LABEL", "USER MAPPING");

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
      String desc = MULTI_WORD.stream().filter(d -> rest.startsWith(d + " ")).findFirst()
          .orElse(rest.contains(" ") ? rest.substring(0, rest.indexOf(' ')) : rest);
      if (LEFT_OUT.contains(desc)) {
        continue;
      }
      if (!TABLE_SCOPED.contains(desc)) {
        kept.add(line);
        continue;
      }
      String afterDesc = rest.substring(desc.length()).trim();
      int sp = afterDesc.indexOf(' ');
      if (sp < 0) {
        continue;
      }
      String schema = afterDesc.substring(0, sp);
      String tagAndOwner = afterDesc.substring(sp + 1);
      for (TableName t : tables) {
        if (!t.schema().equals(schema)) {
          continue;
        }
        boolean keep = switch (desc) {
          case "TABLE", "TABLE DATA" -> tagAndOwner.startsWith(t.table() + " ") && tagAndOwner.indexOf(' ', t.table().length() + 1) < 0;
          case "DEFAULT", "CONSTRAINT", "TRIGGER" -> tagAndOwner.startsWith(t.table() + " ");
          default -> tagAndOwner.startsWith(t.table() + "_"); // sequences of serial / identity columns
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
