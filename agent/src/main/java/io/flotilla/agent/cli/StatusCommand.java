package io.flotilla.agent.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.agent.postgres.PgSession;
import io.flotilla.agent.progress.Progress;
import io.flotilla.agent.wal.WalSpool;
import io.flotilla.error.FlotillaException;
import io.flotilla.manifest.Manifest;
import io.flotilla.manifest.Manifests;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "status", description = {
    "This host's recovery point right now: RPO (time since the newest durable WAL, or the newest backup without",
    "archiving), the last archived segment and when, archive lag (segments ready but not yet archived), newest backups."})
final class StatusCommand extends AgentCommand {
  @Option(names = "--repo", paramLabel = "NAME", description = "Repository to read (default: the first configured).")
  String repo;

  /** What PostgreSQL says about its archiver, when it can be asked. */
  private record Archiver(String lastArchived, Instant lastArchivedAt, long failedCount, String lastFailed, Instant lastFailedAt) {}

  @Override
  int execute(Session s) {
    Instant now = Instant.now();
    List<Manifest> backups = s.await(() -> s.repository(repo, false).compose(r -> r.listBackups(s.config.host()).eventually(r::close)));
    Optional<Archiver> pgArchiver = s.await(() -> s.vertx.executeBlocking(() -> archiver(s.pg), false));
    Optional<WalSpool.ArchiverStatus> spool = s.await(() -> s.vertx.executeBlocking(() -> new WalSpool(s.config.spoolDirectory()).status(), false));
    Long lag = s.await(() -> s.vertx.executeBlocking(() -> readyCount(s.config.postgres().dataDirectory()), false));
    List<io.vertx.core.json.JsonObject> replication = replicationLag(s);

    String lastWal = pgArchiver.map(Archiver::lastArchived).orElse(spool.map(WalSpool.ArchiverStatus::lastArchived).orElse(null));
    Instant lastWalAt = pgArchiver.map(Archiver::lastArchivedAt).orElse(spool.map(WalSpool.ArchiverStatus::lastArchivedAt).orElse(null));
    // Volume-only backups hold no database: they do not make the database restorable.
    Optional<Manifest> newest = backups.stream().filter(m -> !"volume".equals(m.kind())).findFirst();
    Optional<Manifest> newestLogical = backups.stream().filter(m -> "logical".equals(m.kind())).findFirst();
    Optional<Manifest> newestPhysical = backups.stream().filter(m -> "physical".equals(m.kind())).findFirst();
    // With archiving and a base backup to start from, the newest durable WAL is restorable; otherwise the newest backup.
    Instant restorable = lastWalAt != null && newestPhysical.isPresent() && lastWalAt.isAfter(newestPhysical.get().finished())
        ? lastWalAt : newest.map(Manifest::finished).orElse(null);
    Long rpo = restorable == null ? null : Duration.between(restorable, now).toSeconds();

    if (common.json) {
      ObjectNode n = Manifests.JSON.createObjectNode();
      n.put("host", s.config.host());
      n.put("now", now.toString());
      if (rpo != null) {
        n.put("rpoSeconds", rpo);
        n.put("restorableTo", restorable.toString());
      } else {
        n.putNull("rpoSeconds");
      }
      n.put("lastArchivedWal", lastWal);
      n.put("lastArchivedAt", lastWalAt == null ? null : lastWalAt.toString());
      if (lag != null) {
        n.put("archiveLagSegments", lag);
      } else {
        n.putNull("archiveLagSegments");
      }
      pgArchiver.ifPresent(a -> {
        n.put("archiveFailedCount", a.failedCount());
        n.put("lastFailedWal", a.lastFailed());
      });
      newestLogical.ifPresent(m -> n.set("newestLogicalBackup", summary(m)));
      newestPhysical.ifPresent(m -> n.set("newestPhysicalBackup", summary(m)));
      n.put("backups", backups.size());
      if (!replication.isEmpty()) {
        com.fasterxml.jackson.databind.node.ArrayNode arr = n.putArray("replication");
        replication.forEach(j -> arr.add(Manifests.JSON.valueToTree(j.getMap())));
      }
      out().println(n.toPrettyString());
      return 0;
    }
    out().printf("host %s%n", s.config.host());
    out().printf("RPO now:           %s%n", rpo == null ? "unknown (no backup yet)" : human(rpo) + " (restorable to " + restorable + ")");
    out().printf("last archived WAL: %s%n", lastWal == null ? "none" : lastWal + " at " + lastWalAt);
    out().printf("archive lag:       %s%n", lag == null ? "unknown (postgres.data-directory not set or not readable)" : lag + " segment(s) ready, not yet archived");
    pgArchiver.filter(a -> a.failedCount() > 0).ifPresent(a -> out().printf("archive failures:  %d, last %s at %s%n", a.failedCount(), a.lastFailed(), a.lastFailedAt()));
    out().printf("newest logical:    %s%n", newestLogical.map(StatusCommand::line).orElse("none"));
    out().printf("newest physical:   %s%n", newestPhysical.map(StatusCommand::line).orElse("none"));
    for (io.vertx.core.json.JsonObject j : replication) {
      String what = j.containsKey("error") ? "unknown: " + j.getString("error")
          : j.getLong("objectsBehind") == 0 ? "in sync (0 objects behind)"
          : j.getLong("objectsBehind") + " objects (" + Progress.bytes(j.getLong("bytesBehind")) + ") behind, "
              + (j.getLong("lagSeconds") == null ? "never in sync" : human(j.getLong("lagSeconds")) + " since last in sync");
      out().printf("replica %-10s %s (from %s)%n", j.getString("replica") + ":", what, j.getString("source"));
    }
    return 0;
  }

  /** Lag of every replica in the config, by listing both sides; a replica that cannot be read says why. */
  private static List<io.vertx.core.json.JsonObject> replicationLag(Session s) {
    io.flotilla.agent.replication.Replication replication = new io.flotilla.agent.replication.Replication(s.vertx, s.context, s.config);
    List<io.vertx.core.json.JsonObject> out = new java.util.ArrayList<>();
    for (io.flotilla.config.RepositoryConfig rc : replication.replicas(null)) {
      try {
        out.add(s.await(() -> replication.lag(rc)).toJson());
      } catch (FlotillaException e) {
        out.add(new io.vertx.core.json.JsonObject().put("replica", rc.name()).put("source", rc.replicateFrom()).put("error", e.getMessage()));
      }
    }
    return out;
  }

  private static ObjectNode summary(Manifest m) {
    ObjectNode n = Manifests.JSON.createObjectNode();
    n.put("id", m.backupId());
    n.put("label", m.label());
    n.put("end", m.finishedAt());
    n.put("storedBytes", m.storedBytes());
    return n;
  }

  private static String line(Manifest m) {
    return m.backupId() + " (" + m.label() + ", ended " + m.finishedAt() + ", " + Progress.bytes(m.storedBytes()) + ")";
  }

  private static String human(long seconds) {
    if (seconds < 120) {
      return seconds + " s";
    }
    if (seconds < 7200) {
      return seconds / 60 + " min";
    }
    return String.format("%.1f h", seconds / 3600.0);
  }

  private static Optional<Archiver> archiver(PgSession pg) {
    try {
      List<List<String>> rows = pg.query(null, "SELECT last_archived_wal, extract(epoch FROM last_archived_time)::text, failed_count,"
          + " last_failed_wal, extract(epoch FROM last_failed_time)::text FROM pg_stat_archiver");
      List<String> r = rows.get(0);
      return Optional.of(new Archiver(r.get(0), epoch(r.get(1)), Long.parseLong(r.get(2)), r.get(3), epoch(r.get(4))));
    } catch (FlotillaException e) {
      return Optional.empty(); // PostgreSQL down: the spool still knows what was archived
    }
  }

  private static Instant epoch(String text) {
    if (text == null || text.isEmpty()) {
      return null;
    }
    double seconds = Double.parseDouble(text);
    return Instant.ofEpochMilli((long) (seconds * 1000));
  }

  private static Long readyCount(Path pgdata) {
    if (pgdata == null) {
      return null;
    }
    Path dir = pgdata.resolve("pg_wal/archive_status");
    if (!Files.isReadable(dir)) {
      return null;
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".ready")).count();
    } catch (Exception e) {
      return null;
    }
  }
}
