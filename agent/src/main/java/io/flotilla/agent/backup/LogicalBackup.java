package io.flotilla.agent.backup;

import io.flotilla.agent.Version;
import io.flotilla.agent.lock.HostLock;
import io.flotilla.agent.postgres.PgSession;
import io.flotilla.agent.postgres.ServerInfo;
import io.flotilla.agent.progress.Progress;
import io.flotilla.agent.transfer.ObjectTransfers;
import io.flotilla.agent.volume.VolumeBackup;
import io.flotilla.codec.CodecChain;
import io.flotilla.config.HostConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.manifest.BackupId;
import io.flotilla.manifest.Manifest;
import io.flotilla.repo.PutOptions;
import io.flotilla.repo.Repository;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A logical backup: pg_dump -Fc of each database (and pg_dumpall --globals-only with --all),
 * streamed through the codecs into the repository, then the manifest, last.
 */
public final class LogicalBackup {
  private static final Logger LOG = LoggerFactory.getLogger(LogicalBackup.class);
  public static final Set<String> LABELS = Set.of("manual", "daily", "weekly", "monthly", "yearly");

  private final Vertx vertx;
  private final HostConfig config;
  private final PgSession session;
  private final Repository repo;
  private final Progress progress;

  public LogicalBackup(Vertx vertx, HostConfig config, PgSession session, Repository repo, Progress progress) {
    this.vertx = vertx;
    this.config = config;
    this.session = session;
    this.repo = repo;
    this.progress = progress;
  }

  /**
   * What to back up: named databases, or all of them plus globals; and volumes, archived into the
   * same backup under the same manifest.
   *
   * @param volumes configured volume names to add to the backup
   * @param incremental volumes store only files changed since their previous backup
   */
  public record Request(List<String> databases, boolean all, String label, List<String> volumes, boolean incremental) {
    public Request(List<String> databases, boolean all, String label) {
      this(databases, all, label, List.of(), false);
    }
  }

  /**
   * Takes the host lock, cleans leftovers of interrupted backups, streams every object and writes
   * the manifest. Only once the manifest is written is the backup listed anywhere.
   */
  public Future<Manifest> run(Request request) {
    if (!LABELS.contains(request.label())) {
      return Future.failedFuture(new FlotillaException(ErrorCode.USAGE, "--label must be one of " + String.join(", ", new java.util.TreeSet<>(LABELS))
          + ", got '" + request.label() + "'"));
    }
    List<io.flotilla.config.VolumeConfig> volumes;
    try {
      volumes = new VolumeBackup(vertx, config, repo, progress).select(request.volumes());
    } catch (FlotillaException e) {
      return Future.failedFuture(e);
    }
    return vertx.executeBlocking(() -> HostLock.acquire(config.lockDirectory(), config.host(), "backup"), false)
        .compose(lock -> runLocked(request, volumes).eventually(() -> vertx.executeBlocking(() -> {
          lock.close();
          return null;
        }, false)));
  }

  private Future<Manifest> runLocked(Request request, List<io.flotilla.config.VolumeConfig> volumes) {
    Instant started = Instant.now();
    String backupId = BackupId.next(started);
    CodecChain codecs = CodecChain.from(config.compression(), config.encryption());
    return vertx.executeBlocking(() -> ServerInfo.read(session), false)
        .compose(server -> {
          List<ServerInfo.Database> targets = select(server, request);
          return repo.cleanupIncomplete(config.host()).compose(removed -> {
            if (!removed.isEmpty()) {
              LOG.info("host={} backup={} removed leftovers of interrupted backups {}", config.host(), backupId, removed);
            }
            LOG.info("host={} backup={} logical backup started: databases={} repo={}", config.host(), backupId,
                targets.stream().map(ServerInfo.Database::name).toList(), repo.name());
            progress.expect(targets.stream().mapToLong(ServerInfo.Database::sizeBytes).sum());
            return dumpAll(backupId, codecs, targets, request.all(), PutOptions.label(request.label()));
          }).compose(dumps -> volumes.isEmpty() ? Future.succeededFuture(new VolumeBackup.Archived(dumps, List.of()))
              : new VolumeBackup(vertx, config, repo, progress).archive(backupId, codecs, volumes, request.incremental(),
                  PutOptions.label(request.label())).map(archived -> {
                List<Manifest.ObjectEntry> all = new ArrayList<>(dumps);
                all.addAll(archived.objects());
                return new VolumeBackup.Archived(all, archived.volumes());
              })).compose(archived -> {
            List<Manifest.ObjectEntry> objects = archived.objects();
            List<Manifest.DatabaseEntry> dbs = new ArrayList<>();
            for (ServerInfo.Database d : targets) {
              dbs.add(new Manifest.DatabaseEntry(d.name(), d.sizeBytes(), d.encoding(), d.collate(), d.ctype(), objectKey(d.name(), codecs)));
            }
            Manifest m = new Manifest(Manifest.FORMAT, Version.get(), backupId, config.host(), "logical", request.label(),
                server.version(), server.versionNum(), started.toString(), Instant.now().toString(),
                new Manifest.Codecs(codecs.compression().id(), codecs.level(), codecs.encryption()), dbs, objects, null, archived.volumes());
            return repo.writeManifest(m).map(m);
          });
        })
        .onSuccess(m -> LOG.info("host={} backup={} logical backup complete: {} plain bytes, {} stored, {} s", m.host(), m.backupId(),
            m.plainBytes(), m.storedBytes(), m.duration().toSeconds()))
        .onFailure(t -> LOG.info("host={} backup={} logical backup failed: {}", config.host(), backupId, t.getMessage()));
  }

  private List<ServerInfo.Database> select(ServerInfo server, Request request) {
    if (request.all()) {
      return server.databases();
    }
    List<ServerInfo.Database> out = new ArrayList<>();
    for (String name : new LinkedHashSet<>(request.databases())) {
      out.add(server.database(name).orElseThrow(() -> new FlotillaException(ErrorCode.NOT_FOUND, "database '" + name
          + "' does not exist on host " + config.host() + " (databases: "
          + String.join(", ", server.databases().stream().map(ServerInfo.Database::name).toList()) + ")")));
    }
    return out;
  }

  /** Databases one after another: one pg_dump at a time keeps memory and load predictable. */
  private Future<List<Manifest.ObjectEntry>> dumpAll(String backupId, CodecChain codecs, List<ServerInfo.Database> targets, boolean globals,
      PutOptions options) {
    List<Manifest.ObjectEntry> objects = new ArrayList<>();
    Future<Void> chain = Future.succeededFuture();
    String prefix = Repository.backupPrefix(config.host(), backupId);
    if (globals) {
      String key = "globals.sql" + codecs.suffix();
      chain = chain.compose(v -> {
        progress.label("globals");
        List<String> cmd = List.of(session.tools().tool("pg_dumpall"), "--globals-only", "--no-password", "-d", session.url(null));
        return ObjectTransfers.uploadCommandOutput(repo, codecs, prefix + key, key, "globals", "sql", cmd, "globals", progress, options)
            .map(e -> {
              objects.add(e);
              return null;
            });
      });
    }
    for (ServerInfo.Database db : targets) {
      String key = objectKey(db.name(), codecs);
      chain = chain.compose(v -> {
        progress.label("database " + db.name());
        LOG.info("host={} backup={} dumping database {}", config.host(), backupId, db.name());
        List<String> cmd = List.of(session.tools().tool("pg_dump"), "-Fc", "-Z0", "--no-password", "-d", session.url(db.name()));
        return ObjectTransfers.uploadCommandOutput(repo, codecs, prefix + key, key, "database", "pg_dump-custom", cmd,
                "database " + db.name(), progress, options)
            .map(e -> {
              objects.add(e);
              return null;
            });
      });
    }
    return chain.map(v -> objects);
  }

  /** Key of a database's dump within the backup: its name, percent-encoded so any name is a safe file name. */
  public static String objectKey(String database, CodecChain codecs) {
    String safe = URLEncoder.encode(database, StandardCharsets.UTF_8).replace("+", "%20").replace("*", "%2A");
    if (safe.startsWith(".")) {
      safe = "%2E" + safe.substring(1);
    }
    return "db/" + safe + ".dump" + codecs.suffix();
  }
}
