package io.flotilla.agent.physical;

import io.flotilla.agent.Version;
import io.flotilla.agent.lock.HostLock;
import io.flotilla.agent.progress.Progress;
import io.flotilla.agent.transfer.ObjectTransfers;
import io.flotilla.agent.wal.WalArchive;
import io.flotilla.codec.CodecChain;
import io.flotilla.config.HostConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.manifest.BackupId;
import io.flotilla.manifest.Manifest;
import io.flotilla.repo.PutOptions;
import io.flotilla.repo.Repository;
import io.flotilla.wal.Lsn;
import io.flotilla.wal.WalFile;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.Row;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An online base backup of the whole cluster: non-exclusive {@code pg_backup_start} /
 * {@code pg_backup_stop} held on one connection, PGDATA and every tablespace streamed as tar
 * archives through the codecs, every file's size and SHA-256 (and bad pages) in the manifest. The
 * backup completes only once the WAL segment holding its stop LSN is in the repository (our
 * archive_command acknowledges only once durable); it fails after the archive timeout otherwise.
 */
public final class PhysicalBackup {
  private static final Logger LOG = LoggerFactory.getLogger(PhysicalBackup.class);

  private final Vertx vertx;
  private final HostConfig config;
  private final Repository repo;
  private final Progress progress;

  private final java.time.Duration archiveTimeout;

  /** @param archiveTimeout how long to wait for the WAL the backup needs to be archived */
  public PhysicalBackup(Vertx vertx, HostConfig config, Repository repo, Progress progress, java.time.Duration archiveTimeout) {
    this.vertx = vertx;
    this.config = config;
    this.repo = repo;
    this.progress = progress;
    this.archiveTimeout = archiveTimeout;
  }

  /** PostgreSQL connection options from the configured libpq URL (password from PGPASSWORD if not in it). */
  static PgConnectOptions connectOptions(String url) {
    PgConnectOptions options;
    try {
      options = PgConnectOptions.fromUri(url.replaceFirst("^postgres://", "postgresql://"));
    } catch (RuntimeException e) {
      throw new FlotillaException(ErrorCode.CONFIG, "config key postgres.url: cannot be read by the PostgreSQL client: " + e.getMessage());
    }
    if (options.getPassword() == null && System.getenv("PGPASSWORD") != null) {
      options.setPassword(System.getenv("PGPASSWORD"));
    }
    return options;
  }

  public Future<Manifest> run(String label) {
    Path pgdata = config.postgres().dataDirectory();
    if (pgdata == null) {
      return Future.failedFuture(new FlotillaException(ErrorCode.CONFIG, "config key postgres.data-directory: required for physical backups"));
    }
    return vertx.executeBlocking(() -> HostLock.acquire(config.lockDirectory(), config.host(), "backup"), false)
        .compose(lock -> PgConnection.connect(vertx, connectOptions(config.postgres().url()))
            .recover(t -> Future.failedFuture(new FlotillaException(ErrorCode.POSTGRES, "cannot connect to PostgreSQL at "
                + config.postgres().redactedUrl() + ": " + t.getMessage(), t)))
            .compose(conn -> {
              conn.noticeHandler(n -> LOG.debug("host={} PostgreSQL: {}", config.host(), n.getMessage()));
              return backUp(conn, pgdata, label).eventually(conn::close);
            })
            .eventually(() -> vertx.executeBlocking(() -> {
              lock.close();
              return null;
            }, false)));
  }

  private record Settings(String version, int versionNum, String archiveMode, long segmentSize, boolean checksums, String dataDirectory) {}

  private Future<Manifest> backUp(PgConnection conn, Path pgdata, String label) {
    Instant started = Instant.now();
    String backupId = BackupId.next(started);
    CodecChain codecs = CodecChain.from(config.compression(), config.encryption());
    String prefix = Repository.backupPrefix(config.host(), backupId);
    return conn.query("SELECT current_setting('server_version'), current_setting('server_version_num')::int,"
            + " current_setting('archive_mode'), (SELECT setting::bigint * CASE unit WHEN 'B' THEN 1 WHEN 'kB' THEN 1024 WHEN 'MB' THEN 1048576 ELSE 1 END FROM pg_settings WHERE name = 'wal_segment_size'),"
            + " current_setting('data_checksums')::boolean, current_setting('data_directory')").execute()
        .map(rows -> {
          Row r = rows.iterator().next();
          return new Settings(r.getString(0), r.getInteger(1), r.getString(2), r.getLong(3), r.getBoolean(4), r.getString(5));
        })
        .compose(s -> {
          if ("off".equals(s.archiveMode())) {
            throw new FlotillaException(ErrorCode.POSTGRES, "archive_mode is off: a physical backup needs WAL archiving"
                + " (archive_mode = on, archive_command = 'flotilla wal-push --config F %p')");
          }
          if (!samePath(Path.of(s.dataDirectory()), pgdata)) {
            throw new FlotillaException(ErrorCode.CONFIG, "config key postgres.data-directory: " + pgdata + " is not the data directory of the"
                + " server at " + config.postgres().redactedUrl() + " (" + s.dataDirectory() + ")");
          }
          return repo.cleanupIncomplete(config.host()).compose(x -> conn.query(
                  "SELECT oid::bigint, pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY oid")
              .execute())
              .compose(ts -> {
                // PGDATA goes up as PARTS archives read and compressed in parallel; each tablespace as one.
                List<Manifest.Tablespace> spaces = new ArrayList<>();
                spaces.add(new Manifest.Tablespace(0, pgdata.toString(), "base.tar" + codecs.suffix()));
                for (int part = 2; part <= PARTS; part++) {
                  spaces.add(new Manifest.Tablespace(0, pgdata.toString(), "base-" + part + ".tar" + codecs.suffix()));
                }
                for (Row r : ts) {
                  long oid = r.getLong(0);
                  spaces.add(new Manifest.Tablespace(oid, r.getString(1), "tablespaces/" + oid + ".tar" + codecs.suffix()));
                }
                return conn.query("SELECT lsn::text, (SELECT timeline_id FROM pg_control_checkpoint()) FROM pg_backup_start('flotilla "
                        + backupId + "', true) AS lsn").execute()
                    .compose(start -> {
                      Row sr = start.iterator().next();
                      String startLsn = sr.getString(0);
                      int timeline = sr.getInteger(1);
                      LOG.info("host={} backup={} physical backup started at {} on timeline {}", config.host(), backupId, startLsn, timeline);
                      return copyTablespaces(prefix, codecs, spaces, s.checksums(), Lsn.parse(startLsn), PutOptions.label(label))
                          .compose(copied -> conn.query("SELECT lsn::text, translate(encode(convert_to(labelfile, 'UTF8'), 'base64'), E'\\n', ''),"
                                  + " translate(encode(convert_to(coalesce(spcmapfile, ''), 'UTF8'), 'base64'), E'\\n', '') FROM pg_backup_stop(false)")
                              .execute()
                              .compose(stop -> awaitArchived(conn, WalFile.segmentOf(timeline, stop.iterator().next().getString(0), s.segmentSize()))
                                  .map(stop))
                              .compose(stop -> {
                                Row st = stop.iterator().next();
                                String stopLsn = st.getString(0);
                                String labelFile = new String(Base64.getDecoder().decode(st.getString(1)), StandardCharsets.UTF_8);
                                String spcmap = new String(Base64.getDecoder().decode(st.getString(2)), StandardCharsets.UTF_8);
                                Manifest.Physical physical = new Manifest.Physical(timeline, startLsn, stopLsn,
                                    WalFile.segmentOf(timeline, startLsn, s.segmentSize()), WalFile.segmentOf(timeline, stopLsn, s.segmentSize()),
                                    s.segmentSize(), s.checksums(), labelFile, spcmap, spaces, copied.files, copied.badPages);
                                Manifest m = new Manifest(Manifest.FORMAT, Version.get(), backupId, config.host(), "physical", label, s.version(),
                                    s.versionNum(), started.toString(), Instant.now().toString(),
                                    new Manifest.Codecs(codecs.compression().id(), codecs.level(), codecs.encryption()), List.of(), copied.objects,
                                    physical, List.of());
                                return repo.writeManifest(m).map(m);
                              }))
                          .recover(t -> conn.query("SELECT pg_backup_stop(false)").execute()
                              .transform(ignored -> Future.failedFuture(t)));
                    });
              });
        })
        .onSuccess(m -> LOG.info("host={} backup={} physical backup complete: {} files, {} bad pages, stop {}", m.host(), m.backupId(),
            m.physical().files().size(), m.physical().badPages().size(), m.physical().stopLsn()))
        .onFailure(t -> LOG.info("host={} backup={} physical backup failed: {}", config.host(), backupId, t.getMessage()));
  }

  /**
   * Waits until the segment holding the stop LSN is in the repository (pg_backup_stop switched to
   * a new segment, so PostgreSQL archives it now): only then is the backup restorable. Gives up
   * after the archive timeout with what PostgreSQL says about its archiver.
   */
  private Future<Void> awaitArchived(PgConnection conn, String segment) {
    WalArchive archive = new WalArchive(vertx, config, repo);
    long deadline = System.nanoTime() + archiveTimeout.toNanos();
    return pollArchived(archive, segment, deadline).compose(found -> {
      if (found) {
        return Future.succeededFuture();
      }
      return conn.query("SELECT coalesce(last_failed_wal, 'none'), coalesce(last_failed_time::text, ''), failed_count FROM pg_stat_archiver").execute()
          .compose(rows -> {
            Row r = rows.iterator().next();
            return Future.failedFuture(new FlotillaException(ErrorCode.REPOSITORY, "WAL segment " + segment + " that this backup needs was not archived"
                + " within " + archiveTimeout.toSeconds() + " s: check archive_command (PostgreSQL reports " + r.getLong(2)
                + " failed attempts, last for " + r.getString(0) + (r.getString(1).isEmpty() ? "" : " at " + r.getString(1)) + ")"));
          });
    });
  }

  private Future<Boolean> pollArchived(WalArchive archive, String segment, long deadline) {
    return archive.find(segment).compose(found -> {
      if (found.isPresent()) {
        return Future.succeededFuture(true);
      }
      if (System.nanoTime() > deadline) {
        return Future.succeededFuture(false);
      }
      io.vertx.core.Promise<Void> tick = io.vertx.core.Promise.promise();
      vertx.setTimer(250, id -> tick.complete());
      return tick.future().compose(v -> pollArchived(archive, segment, deadline));
    });
  }

  private static boolean samePath(Path a, Path b) {
    try {
      return Files.isSameFile(a, b);
    } catch (Exception e) {
      return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
    }
  }

  private static final class Copied {
    final List<Manifest.ObjectEntry> objects = new ArrayList<>();
    final List<Manifest.FileEntry> files = new ArrayList<>();
    final List<Manifest.BadPage> badPages = new ArrayList<>();
  }

  /** Archives of PGDATA written at once: 2 keeps both cores busy reading, checking and compressing. */
  static final int PARTS = 2;

  private Future<Copied> copyTablespaces(String prefix, CodecChain codecs, List<Manifest.Tablespace> spaces, boolean checksums, long startLsn,
      PutOptions options) {
    return vertx.executeBlocking(() -> TablespaceArchiver.balance(Path.of(spaces.get(0).location()), PARTS), false)
        .compose(pgdataParts -> copyTablespaces(prefix, codecs, spaces, checksums, startLsn, pgdataParts, options));
  }

  private Future<Copied> copyTablespaces(String prefix, CodecChain codecs, List<Manifest.Tablespace> spaces, boolean checksums, long startLsn,
      java.util.Map<String, Integer> pgdataParts, PutOptions options) {
    Copied copied = new Copied();
    List<Future<Void>> uploads = new ArrayList<>();
    for (Manifest.Tablespace ts : spaces) {
      long parts = spaces.stream().filter(t -> t.oid() == ts.oid()).count();
      int part = (int) spaces.stream().filter(t -> t.oid() == ts.oid()).takeWhile(t -> t != ts).count();
      TablespaceArchiver archiver = new TablespaceArchiver(ts.oid(), Path.of(ts.location()), checksums, startLsn, part, (int) parts,
          ts.oid() == 0 ? pgdataParts : java.util.Map.of());
      progress.label("base backup");
      uploads.add(ObjectTransfers.upload(repo, codecs, prefix + ts.object(), ts.object(), "tablespace", "tar", "tablespace-" + ts.oid() + "-" + part,
          progress, options, archiver::write).map(entry -> {
            synchronized (copied) {
              copied.objects.add(entry);
              copied.files.addAll(archiver.files);
              copied.badPages.addAll(archiver.badPages);
            }
            return null;
          }));
    }
    return Future.all(uploads).map(v -> {
      copied.objects.sort(java.util.Comparator.comparing(Manifest.ObjectEntry::key));
      copied.files.sort(java.util.Comparator.comparing(Manifest.FileEntry::tablespace).thenComparing(Manifest.FileEntry::path));
      return copied;
    });
  }
}
