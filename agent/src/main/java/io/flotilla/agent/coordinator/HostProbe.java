package io.flotilla.agent.coordinator;

import io.flotilla.agent.postgres.PgSession;
import io.flotilla.config.HostConfig;
import io.flotilla.wal.Lsn;
import io.flotilla.wal.WalFile;
import io.vertx.core.json.JsonObject;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * What a heartbeat says about the host: PostgreSQL up and its version, the archiver's raw positions
 * (the coordinator computes RPO from them), ready-but-unarchived segments, and disk use. Blocking:
 * runs on a worker thread.
 */
public final class HostProbe implements Callable<JsonObject> {
  private final HostConfig config;
  private final PgSession pg;
  private final java.util.function.Supplier<JsonObject> replication;

  public HostProbe(HostConfig config, PgSession pg) {
    this(config, pg, null);
  }

  /** @param replication the lag per replica from the daemon's latest replication passes (null: none run here) */
  public HostProbe(HostConfig config, PgSession pg, java.util.function.Supplier<JsonObject> replication) {
    this.config = config;
    this.pg = pg;
    this.replication = replication;
  }

  @Override
  public JsonObject call() {
    JsonObject hb = new JsonObject();
    JsonObject postgres = new JsonObject().put("up", false);
    JsonObject wal = new JsonObject();
    try {
      List<String> r = pg.query(null, "SELECT current_setting('server_version'), pg_is_in_recovery()::text,"
          + " current_setting('archive_mode'), current_setting('archive_command'), a.last_archived_wal,"
          + " extract(epoch FROM a.last_archived_time)::text, a.last_failed_wal, extract(epoch FROM a.last_failed_time)::text,"
          + " a.failed_count::text, CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END,"
          + " (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'),"
          + " (SELECT sum(pg_database_size(oid))::text FROM pg_database) FROM pg_stat_archiver a").get(0);
      postgres.put("up", true).put("version", r.get(0)).put("inRecovery", "true".equals(r.get(1))).put("dataBytes", longOrNull(r.get(11)));
      String mode = r.get(2);
      String command = r.get(3);
      boolean archiving = ("on".equals(mode) || "always".equals(mode)) && command != null && !command.isBlank()
          && !"(disabled)".equals(command);
      wal.put("archiving", archiving).put("lastArchivedWal", empty(r.get(4))).put("lastArchivedAt", epoch(r.get(5)))
          .put("lastFailedWal", empty(r.get(6))).put("lastFailedAt", epoch(r.get(7))).put("failedCount", longOrNull(r.get(8)))
          .put("currentLsn", empty(r.get(9)));
      long segSize = Long.parseLong(r.get(10));
      String last = empty(r.get(4));
      if (last != null && last.length() >= 24 && WalFile.parse(last.substring(0, 24)).isPresent() && !last.endsWith(".history")) {
        long segno = WalFile.segmentNumber(last.substring(0, 24), segSize);
        wal.put("archivedUpToLsn", Lsn.format((segno + 1) * segSize));
      }
    } catch (RuntimeException e) {
      postgres.put("error", e.getMessage());
    }
    Path pgdata = config.postgres().dataDirectory();
    if (pgdata != null) {
      Path status = pgdata.resolve("pg_wal/archive_status");
      if (Files.isReadable(status)) {
        try (Stream<Path> s = Files.list(status)) {
          wal.put("readySegments", s.filter(p -> p.getFileName().toString().endsWith(".ready")).count());
        } catch (Exception e) {
          // not readable right now: leave it out
        }
      }
      try {
        FileStore fs = Files.getFileStore(pgdata);
        hb.put("disk", new JsonObject().put("path", pgdata.toString()).put("freeBytes", fs.getUsableSpace()).put("totalBytes",
            fs.getTotalSpace()));
      } catch (Exception e) {
        // PGDATA not visible to the agent
      }
    }
    if (replication != null) {
      JsonObject lag = replication.get();
      if (!lag.isEmpty()) {
        hb.put("replication", lag);
      }
    }
    return hb.put("postgres", postgres).put("wal", wal);
  }

  private static String empty(String s) {
    return s == null || s.isEmpty() ? null : s;
  }

  private static Long longOrNull(String s) {
    return s == null || s.isEmpty() ? null : Long.parseLong(s);
  }

  private static String epoch(String s) {
    return s == null || s.isEmpty() ? null : Instant.ofEpochMilli((long) (Double.parseDouble(s) * 1000)).toString();
  }
}
