package io.flotilla.agent.restore;

import io.flotilla.agent.postgres.PgSession;
import io.flotilla.agent.progress.Progress;
import io.flotilla.agent.transfer.ObjectTransfers;
import io.flotilla.codec.CodecChain;
import io.flotilla.config.HostConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.manifest.Manifest;
import io.flotilla.repo.Repository;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restores a database from a logical backup. The dump streams from the repository through the
 * codecs into pg_restore, into a new database under a temporary name; only when pg_restore
 * succeeds and the object's SHA-256 matches is it renamed to the target. On any failure the
 * temporary database is dropped, so no half-restored database is ever left under the target name.
 *
 * <p>With {@code --jobs N > 1} pg_restore needs a seekable file: the plain dump is then written to
 * a temporary file (under {@code --temp-dir}) and deleted afterwards; that is the only case where
 * a restore stages data on disk.
 */
public final class LogicalRestore {
  private static final Logger LOG = LoggerFactory.getLogger(LogicalRestore.class);

  private final Vertx vertx;
  private final HostConfig config;
  private final PgSession session;
  private final Repository repo;
  private final Progress progress;

  public LogicalRestore(Vertx vertx, HostConfig config, PgSession session, Repository repo, Progress progress) {
    this.vertx = vertx;
    this.config = config;
    this.session = session;
    this.repo = repo;
    this.progress = progress;
  }

  /**
   * @param backup backup id or {@code latest}
   * @param before with latest: newest backup finished before this time
   * @param database database in the backup to restore (null for globals only)
   * @param target name of the database to create
   * @param tables SCHEMA.TABLE names to restore (empty for all)
   * @param jobs pg_restore parallel jobs
   * @param force replace an existing non-empty target
   * @param globals apply roles and tablespaces first
   * @param noOwner pass --no-owner to pg_restore
   * @param tempDir where --jobs stages the dump
   */
  public record Request(String backup, Instant before, String database, String target, List<String> tables, int jobs, boolean force,
      boolean globals, boolean noOwner, Path tempDir) {}

  /** What was restored. */
  public record Result(String backupId, String database, String target, boolean globalsApplied, int globalsSkipped, long plainBytes,
      Duration duration) {}

  public Future<Result> run(Request r) {
    Instant start = Instant.now();
    if (r.database() == null && !r.globals()) {
      return Future.failedFuture(new FlotillaException(ErrorCode.USAGE, "give --database NAME --target-database NEW, or --globals"));
    }
    if (r.database() != null && (r.target() == null || r.target().isBlank())) {
      return Future.failedFuture(new FlotillaException(ErrorCode.USAGE, "--target-database NEW is required with --database"));
    }
    if (r.target() != null && r.target().getBytes(StandardCharsets.UTF_8).length > 63) {
      return Future.failedFuture(new FlotillaException(ErrorCode.USAGE, "--target-database is longer than PostgreSQL's 63-byte limit"));
    }
    List<TocFilter.TableName> tables = r.tables().stream().map(TocFilter.TableName::parse).toList();
    return repo.resolve(config.host(), r.backup(), r.before(), r.database()).compose(m -> RestoreTracking.around(repo, m, () -> {
      Future<Integer> globals = r.globals() ? restoreGlobals(m) : Future.succeededFuture(-1);
      return globals.compose(skipped -> {
        if (r.database() == null) {
          return Future.succeededFuture(new Result(m.backupId(), null, null, true, skipped, progress.plainBytes(), Duration.between(start, Instant.now())));
        }
        return restoreDatabase(m, r, tables).map(v -> new Result(m.backupId(), r.database(), r.target(), skipped >= 0, Math.max(0, skipped),
            progress.plainBytes(), Duration.between(start, Instant.now())));
      });
    }, result -> (result.globalsApplied() ? "globals" : "") + (result.globalsApplied() && result.database() != null ? " and " : "")
        + (result.database() != null ? "database " + result.database() + " as " + result.target() : "") + " on host " + config.host()
        + (r.tables().isEmpty() ? "" : " (tables " + String.join(", ", r.tables()) + ")")));
  }

  private Future<Void> restoreDatabase(Manifest m, Request r, List<TocFilter.TableName> tables) {
    Manifest.DatabaseEntry db = m.database(r.database()).orElseThrow();
    Manifest.ObjectEntry entry = m.object(db.object()).orElseThrow(() -> new FlotillaException(ErrorCode.INTEGRITY,
        "manifest of backup " + m.backupId() + " lists database " + db.name() + " but not its object " + db.object()));
    String key = Repository.backupPrefix(m.host(), m.backupId()) + entry.key();
    CodecChain codecs = Repository.codecs(m);
    String temp = "flotilla_restore_" + HexFormat.of().formatHex(new SecureRandom().generateSeed(4));
    progress.label("restore " + db.name() + " -> " + r.target());
    progress.expect(entry.plainBytes());

    return vertx.executeBlocking(() -> {
      TargetState state = targetState(r.target());
      if (state == TargetState.NON_EMPTY && (!r.force() || !tables.isEmpty())) {
        throw new FlotillaException(ErrorCode.CONFLICT, "database '" + r.target() + "' exists and is not empty: "
            + (tables.isEmpty() ? "add --force to replace it" : "restore tables into a new database and copy them over"));
      }
      session.execute(null, "CREATE DATABASE " + PgSession.ident(temp) + " TEMPLATE template0 ENCODING " + PgSession.literal(db.encoding())
          + " LC_COLLATE " + PgSession.literal(db.collate()) + " LC_CTYPE " + PgSession.literal(db.ctype()));
      LOG.info("host={} backup={} restoring database {} into temporary database {}", config.host(), m.backupId(), db.name(), temp);
      return state;
    }, false).compose(state -> listFile(codecs, key, entry, tables)
        .compose(list -> pgRestore(codecs, key, entry, temp, r, list, m.backupId())
            .eventually(() -> list == null ? Future.succeededFuture() : vertx.executeBlocking(() -> Files.deleteIfExists(list), false)))
        .compose(v -> vertx.executeBlocking(() -> {
          if (state != TargetState.ABSENT) {
            session.execute(null, "DROP DATABASE " + PgSession.ident(r.target()) + " WITH (FORCE)");
          }
          session.execute(null, "ALTER DATABASE " + PgSession.ident(temp) + " RENAME TO " + PgSession.ident(r.target()));
          LOG.info("host={} backup={} restored database {} as {}", config.host(), m.backupId(), db.name(), r.target());
          return (Void) null;
        }, false))
        .recover(t -> vertx.executeBlocking(() -> {
          try {
            session.execute(null, "DROP DATABASE IF EXISTS " + PgSession.ident(temp) + " WITH (FORCE)");
          } catch (FlotillaException e) {
            LOG.warn("host={} backup={} could not drop temporary database {}: {}", config.host(), m.backupId(), temp, e.getMessage());
          }
          return (Void) null;
        }, false).transform(ignored -> Future.failedFuture(t))));
  }

  private enum TargetState { ABSENT, EMPTY, NON_EMPTY }

  private TargetState targetState(String target) {
    List<List<String>> exists = session.query(null, "SELECT 1 FROM pg_database WHERE datname = " + PgSession.literal(target));
    if (exists.isEmpty()) {
      return TargetState.ABSENT;
    }
    List<List<String>> objects = session.query(target, "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        + " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%')"
        + " + (SELECT count(*) FROM pg_largeobject_metadata)");
    return Long.parseLong(objects.get(0).get(0)) > 0 ? TargetState.NON_EMPTY : TargetState.EMPTY;
  }

  /** For --table: reads the dump's table of contents and writes the filtered list pg_restore -L takes. */
  private Future<Path> listFile(CodecChain codecs, String key, Manifest.ObjectEntry entry, List<TocFilter.TableName> tables) {
    if (tables.isEmpty()) {
      return Future.succeededFuture(null);
    }
    StringBuilder toc = new StringBuilder();
    return ObjectTransfers.download(repo, codecs, key, entry, false, "toc", null, plain -> {
      Process p = new ProcessBuilder(session.tools().tool("pg_restore"), "-l").start();
      ObjectTransfers.StderrTail err = ObjectTransfers.StderrTail.start(p.getErrorStream(), "pg_restore-l");
      Thread feeder = new Thread(() -> {
        try {
          feed(plain, p.getOutputStream());
        } catch (IOException | RuntimeException e) {
          // the listing's exit code decides; pg_restore -l stops reading after the table of contents
        }
      }, "flotilla-toc-feed");
      feeder.setDaemon(true);
      feeder.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.waitFor() != 0) {
        throw new FlotillaException(ErrorCode.POSTGRES, "pg_restore -l failed: " + PgSession.firstErrorLine(err.text()));
      }
      toc.append(out);
    }).compose(v -> vertx.executeBlocking(() -> {
      String filtered = TocFilter.filter(toc.toString(), tables);
      Path list = Files.createTempFile("flotilla-toc-", ".list");
      Files.writeString(list, filtered);
      return list;
    }, false));
  }

  private Future<Void> pgRestore(CodecChain codecs, String key, Manifest.ObjectEntry entry, String temp, Request r, Path list, String backupId) {
    List<String> cmd = new ArrayList<>(List.of(session.tools().tool("pg_restore"), "--exit-on-error", "--no-password", "-d", session.url(temp)));
    if (r.noOwner()) {
      cmd.add("--no-owner");
    }
    if (list != null) {
      cmd.addAll(List.of("-L", list.toString()));
    }
    if (r.jobs() <= 1) {
      return ObjectTransfers.download(repo, codecs, key, entry, true, "restore", progress, plain -> runFed(cmd, plain));
    }
    // pg_restore -j needs a seekable archive: stage the plain dump in a temporary file.
    Path[] staged = new Path[1];
    return vertx.executeBlocking(() -> {
          Files.createDirectories(r.tempDir());
          staged[0] = Files.createTempFile(r.tempDir(), "flotilla-restore-", ".dump");
          return null;
        }, false)
        .compose(v -> ObjectTransfers.download(repo, codecs, key, entry, true, "stage", progress, plain -> {
          try (OutputStream out = Files.newOutputStream(staged[0])) {
            plain.transferTo(out);
          }
        }))
        .compose(v -> vertx.executeBlocking(() -> {
          List<String> parallel = new ArrayList<>(cmd);
          parallel.addAll(List.of("-j", Integer.toString(r.jobs()), staged[0].toString()));
          runFed(parallel, null);
          return (Void) null;
        }, false))
        .eventually(() -> vertx.executeBlocking(() -> staged[0] == null ? null : Files.deleteIfExists(staged[0]), false));
  }

  /**
   * Runs pg_restore with {@code plain} on its stdin; fails with the tool's own error line. A tool
   * that succeeds without reading all of its input (pg_restore -L stops after the last listed
   * entry) is fine: the caller reads the rest to check the object's digest.
   */
  private static void runFed(List<String> cmd, InputStream plain) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    ObjectTransfers.StderrTail err = ObjectTransfers.StderrTail.start(p.getErrorStream(), "pg_restore");
    try {
      if (plain != null) {
        feed(plain, p.getOutputStream());
      } else {
        p.getOutputStream().close();
      }
    } catch (Exception e) {
      p.destroyForcibly();
      throw e;
    }
    int exit = p.waitFor();
    if (exit != 0) {
      throw new FlotillaException(ErrorCode.POSTGRES, "pg_restore failed (exit " + exit + "): " + PgSession.firstErrorLine(err.text()));
    }
  }

  /**
   * Copies {@code from} into a process's stdin until the end or until the process stops reading.
   * Errors reading {@code from} (damaged data, repository failure) propagate; a closed stdin does
   * not, since the process's exit code tells whether it got what it needed.
   */
  static void feed(InputStream from, OutputStream stdin) throws IOException {
    byte[] buffer = new byte[128 * 1024];
    try {
      int n;
      while ((n = from.read(buffer)) >= 0) {
        try {
          stdin.write(buffer, 0, n);
        } catch (IOException closedByTool) {
          return;
        }
      }
    } finally {
      try {
        stdin.close();
      } catch (IOException closedByTool) {
        // the tool exited already; its exit code says how it went
      }
    }
  }

  /**
   * Applies roles and tablespaces with psql. Statements for objects that already exist (the
   * bootstrap superuser, roles restored before) fail harmlessly and are counted as skipped; any
   * other error fails the restore.
   */
  private Future<Integer> restoreGlobals(Manifest m) {
    Manifest.ObjectEntry entry = m.globals().orElse(null);
    if (entry == null) {
      return Future.failedFuture(new FlotillaException(ErrorCode.NOT_FOUND, "backup " + m.backupId()
          + " holds no globals (only backup --all takes roles and tablespaces)"));
    }
    String key = Repository.backupPrefix(m.host(), m.backupId()) + entry.key();
    int[] skipped = new int[1];
    progress.label("restore globals");
    return ObjectTransfers.download(repo, Repository.codecs(m), key, entry, true, "globals", progress, plain -> {
      Process p = new ProcessBuilder(session.tools().tool("psql"), "-X", "-q", "--no-password", "-d", session.url(null), "-f", "-")
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      ObjectTransfers.StderrTail err = ObjectTransfers.StderrTail.start(p.getErrorStream(), "psql-globals");
      feed(plain, p.getOutputStream());
      int exit = p.waitFor();
      List<String> errors = err.text().lines().filter(l -> l.contains("ERROR:")).toList();
      List<String> real = errors.stream().filter(l -> !l.contains("already exists")).toList();
      if (exit != 0 || !real.isEmpty()) {
        throw new FlotillaException(ErrorCode.POSTGRES, "applying globals failed: "
            + (real.isEmpty() ? "psql exit " + exit : PgSession.firstErrorLine(real.get(0))));
      }
      skipped[0] = errors.size();
    }).map(v -> skipped[0]);
  }
}
