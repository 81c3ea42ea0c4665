package io.flotilla.config;

import java.nio.file.Path;

/**
 * @param url libpq connection URL (postgresql://user@host:port/db); may hold a password, so it is
 *     never printed as is: use {@link #redactedUrl()}
 * @param bin directory of the PostgreSQL client tools, or null to find them on PATH / pg_config
 * @param dataDirectory PGDATA of the cluster (needed for WAL archiving and physical backups), or null
 */
public record PostgresConfig(String url, Path bin, Path dataDirectory) {

  /** The URL with any password replaced by {@code ***}, safe for logs and messages. */
  public String redactedUrl() {
    return ConnectionUrl.redact(url);
  }

  @Override
  public String toString() {
    return "PostgresConfig[url=" + redactedUrl() + ", bin=" + bin + ", dataDirectory=" + dataDirectory + "]";
  }
}
