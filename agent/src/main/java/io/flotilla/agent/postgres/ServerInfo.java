package io.flotilla.agent.postgres;

import java.util.List;
import java.util.Optional;

/**
 * What a backup needs to know about the server.
 *
 * @param version server_version
 * @param versionNum server_version_num
 * @param databases the connectable, non-template databases
 */
public record ServerInfo(String version, int versionNum, List<Database> databases) {

  /** @param name datname; @param sizeBytes pg_database_size; @param encoding; @param collate; @param ctype */
  public record Database(String name, long sizeBytes, String encoding, String collate, String ctype) {}

  public Optional<Database> database(String name) {
    return databases.stream().filter(d -> d.name().equals(name)).findFirst();
  }

  /** Reads the facts with one query. Blocking. */
  public static ServerInfo read(PgSession session) {
    List<List<String>> rows = session.query(null,
        "SELECT current_setting('server_version'), current_setting('server_version_num'), d.datname, pg_database_size(d.oid),"
            + " pg_encoding_to_char(d.encoding), d.datcollate, d.datctype"
            + " FROM pg_database d WHERE d.datallowconn AND NOT d.datistemplate ORDER BY d.datname");
    String version = rows.isEmpty() ? "" : rows.get(0).get(0);
    int num = rows.isEmpty() ? 0 : Integer.parseInt(rows.get(0).get(1));
    List<Database> dbs = rows.stream()
        .map(r -> new Database(r.get(2), Long.parseLong(r.get(3)), r.get(4), r.get(5), r.get(6)))
        .toList();
    return new ServerInfo(version, num, dbs);
  }
}
