package io.flotilla.agent.postgres;

import io.flotilla.config.ConnectionUrl;
import io.flotilla.config.PostgresConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * SQL against the host's PostgreSQL through psql. psql is used rather than a Java driver so that
 * authentication behaves exactly as for pg_dump and pg_restore (same libpq: .pgpass, PGPASSWORD,
 * sslmode, service files). Every method blocks: call on a worker thread.
 */
public final class PgSession {
  private static final String FIELD = "\u001f";
  private final PgTools tools;
  private final PostgresConfig config;

  public PgSession(PgTools tools, PostgresConfig config) {
    this.tools = tools;
    this.config = config;
  }

  public PgTools tools() {
    return tools;
  }

  /** The URL for {@code database}, or the configured one when null. Holds secrets: never print. */
  public String url(String database) {
    return database == null ? config.url() : ConnectionUrl.withDatabase(config.url(), database);
  }

  public String redacted(String database) {
    return ConnectionUrl.redact(url(database));
  }

  /** Runs one query and returns its rows (fields as text; NULL as null). */
  public List<List<String>> query(String database, String sql) {
    String out = run(database, sql, true);
    List<List<String>> rows = new ArrayList<>();
    for (String record : out.split("\u0000", -1)) {
      if (record.isEmpty()) {
        continue;
      }
      List<String> fields = new ArrayList<>();
      for (String f : record.split(FIELD, -1)) {
        fields.add(f.equals("\u0002NULL") ? null : f);
      }
      rows.add(fields);
    }
    return rows;
  }

  /** Runs statements; fails on the first error. */
  public void execute(String database, String sql) {
    run(database, sql, false);
  }

  private String run(String database, String sql, boolean rows) {
    List<String> cmd = new ArrayList<>(List.of(tools.tool("psql"), "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1",
        "-d", url(database)));
    if (rows) {
      cmd.addAll(List.of("-A", "-t", "-F", FIELD, "-0", "-P", "null=\u0002NULL"));
    }
    cmd.addAll(List.of("-c", sql));
    try {
      Process p = new ProcessBuilder(cmd).start();
      p.getOutputStream().close();
      CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
      String out = readAll(p.getInputStream());
      if (!p.waitFor(10, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new FlotillaException(ErrorCode.POSTGRES, "psql did not answer within 10 minutes");
      }
      if (p.exitValue() != 0) {
        throw failure(database, err.join());
      }
      return out;
    } catch (IOException e) {
      throw new FlotillaException(ErrorCode.POSTGRES, "cannot run psql (" + cmd.get(0) + "): " + e.getMessage()
          + " (set postgres.bin or put the PostgreSQL client tools on PATH)");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new FlotillaException(ErrorCode.POSTGRES, "interrupted while running psql");
    }
  }

  /** Turns a libpq / psql error text into one clear line. */
  public FlotillaException failure(String database, String stderr) {
    String line = firstErrorLine(stderr);
    if (line.contains("connection to server") || line.contains("could not connect") || line.contains("Connection refused")
        || line.contains("could not translate host name")) {
      return new FlotillaException(ErrorCode.POSTGRES, "cannot connect to PostgreSQL at " + redacted(database) + ": " + line);
    }
    if (line.contains("does not exist") && line.contains("database")) {
      return new FlotillaException(ErrorCode.NOT_FOUND, line);
    }
    if (line.contains("password authentication failed") || line.contains("no password supplied")) {
      return new FlotillaException(ErrorCode.POSTGRES, "PostgreSQL refused the login at " + redacted(database) + ": " + line);
    }
    return new FlotillaException(ErrorCode.POSTGRES, "PostgreSQL error on " + redacted(database) + ": " + line);
  }

  /** The most telling line of a PostgreSQL tool's stderr, with any URL password redacted. */
  public static String firstErrorLine(String stderr) {
    String best = null;
    for (String l : stderr.split("\n")) {
      String t = l.trim();
      if (t.isEmpty()) {
        continue;
      }
      if (best == null) {
        best = t;
      }
      if (t.contains("FATAL:") || t.contains("ERROR:") || t.contains("error:")) {
        best = t;
        break;
      }
    }
    return best == null ? "(no message)" : ConnectionUrl.redact(best.replaceFirst("^(psql|pg_dump|pg_restore|pg_dumpall): ", ""));
  }

  static String readAll(java.io.InputStream in) {
    try {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  /** Quotes an SQL identifier. */
  public static String ident(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }

  /** Quotes an SQL string literal. */
  public static String literal(String value) {
    return "'" + value.replace("'", "''") + "'";
  }
}
