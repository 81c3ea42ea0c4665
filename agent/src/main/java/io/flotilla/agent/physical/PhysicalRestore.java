package io.flotilla.agent.physical;

import io.flotilla.agent.postgres.PgSession;
import io.flotilla.agent.progress.Progress;
import io.flotilla.agent.restore.RestoreTracking;
import io.flotilla.agent.transfer.ObjectTransfers;
import io.flotilla.codec.CodecChain;
import io.flotilla.config.HostConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.manifest.Manifest;
import io.flotilla.repo.Repository;
import io.flotilla.wal.Lsn;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restores a physical backup into an empty directory and sets up recovery: the base backup's tar
 * archives are unpacked (each file's SHA-256 checked against the manifest), backup_label and
 * tablespace_map written, and the recovery settings (restore_command = flotilla wal-fetch, the
 * target, recovery_target_timeline = latest) put in postgresql.auto.conf with recovery.signal.
 * With {@code start}, PostgreSQL is started and watched until the target is reached.
 */
public final class PhysicalRestore {
  private static final Logger LOG = LoggerFactory.getLogger(PhysicalRestore.class);

  private final Vertx vertx;
  private final HostConfig config;
  private final Repository repo;
  private final PgSession pg;
  private final Progress progress;

  public PhysicalRestore(Vertx vertx, HostConfig config, Repository repo, PgSession pg, Progress progress) {
    this.vertx = vertx;
    this.config = config;
    this.repo = repo;
    this.pg = pg;
    this.progress = progress;
  }

  /** A recovery target: at most one of time, lsn, xid, name. */
  public record Target(Instant time, String lsn, String xid, String name, String action, String timeline) {
    boolean any() {
      return time != null || lsn != null || xid != null || name != null;
    }
  }

  /**
   * @param backup id or latest
   * @param pgdata where to restore (must be empty or absent)
   * @param target recovery target
   * @param start start PostgreSQL and wait for the target
   * @param port port for the started server (null: as in the backup's configuration)
   * @param owner OS user to own the files and run the server when running as root
   * @param configPath absolute path of the agent config, for restore_command
   * @param launcher absolute path of the flotilla launcher, for restore_command
   */
  public record Request(String backup, Path pgdata, Target target, boolean start, Integer port, String owner, Path configPath, Path launcher) {}

  /** @param lsn replay position reached; @param time time of the last replayed transaction; @param state server state */
  public record Result(String backupId, Path pgdata, String lsn, String time, String state, Duration duration) {}

  public Future<Result> run(Request r) {
    Instant began = Instant.now();
    Target t = r.target();
    if (t.time() != null && t.time().isAfter(Instant.now())) {
      return Future.failedFuture(new FlotillaException(ErrorCode.USAGE, "--target-time " + t.time() + " is in the future"));
    }
    if (t.lsn() != null && !Lsn.isValid(t.lsn())) {
      return Future.failedFuture(new FlotillaException(ErrorCode.USAGE, "--target-lsn must look like 0/3000028, got '" + t.lsn() + "'"));
    }
    return choose(r.backup(), t).compose(m -> RestoreTracking.around(repo, m, () -> restore(m, r, began), result -> "PGDATA " + result.pgdata()
        + " on host " + config.host() + (t.any() ? " recovered to " + describe(t) : "") + (r.start() ? ", " + result.state() : ", not started")));
  }

  private static String describe(Target t) {
    return t.time() != null ? "time " + t.time() : t.lsn() != null ? "LSN " + t.lsn() : t.xid() != null ? "xid " + t.xid() : "restore point " + t.name();
  }

  private Future<Result> restore(Manifest m, Request r, Instant began) {
    return checkVersion(m).compose(v -> checkEmpty(r.pgdata(), m))
        .compose(v -> unpack(m, r.pgdata()).recover(failure -> vertx.executeBlocking(() -> {
          // The directories were empty before: leave them so, not half restored.
          removeContents(r.pgdata());
          for (Manifest.Tablespace ts : m.physical().tablespaces()) {
            if (ts.oid() != 0) {
              removeContents(Path.of(ts.location()));
            }
          }
          return null;
        }, false).transform(ignored -> Future.failedFuture(failure))))
        .compose(v -> vertx.executeBlocking(() -> {
          configure(m, r);
          return null;
        }, false))
        .compose(v -> r.start() ? start(r) : Future.succeededFuture(new String[] {null, null, "not started"}))
        .map(reached -> new Result(m.backupId(), r.pgdata(), reached[0], reached[1], reached[2], Duration.between(began, Instant.now())));
  }

  /** The backup to start from: the named one, or the newest whose end precedes the target. */
  private Future<Manifest> choose(String backup, Target t) {
    return repo.listBackups(config.host()).compose(all -> {
      List<Manifest> physical = all.stream().filter(m -> "physical".equals(m.kind())).toList();
      if (!"latest".equals(backup)) {
        return repo.manifest(config.host(), backup).compose(m -> "physical".equals(m.kind()) ? Future.succeededFuture(m)
            : Future.failedFuture(new FlotillaException(ErrorCode.USAGE, "backup " + backup + " is a " + m.kind() + " backup: use restore --kind " + m.kind())));
      }
      if (physical.isEmpty()) {
        return Future.failedFuture(new FlotillaException(ErrorCode.NOT_FOUND, "no physical backup of host " + config.host() + " in repository " + repo.describe()));
      }
      for (Manifest m : physical) {
        boolean fits = t.time() != null ? !m.finished().isAfter(t.time())
            : t.lsn() == null || Lsn.parse(m.physical().stopLsn()) <= Lsn.parse(t.lsn());
        if (fits) {
          return Future.succeededFuture(m);
        }
      }
      Manifest oldest = physical.get(physical.size() - 1);
      return Future.failedFuture(new FlotillaException(ErrorCode.NOT_FOUND, "the target is before the oldest physical backup ("
          + oldest.backupId() + ", consistent from " + oldest.finishedAt() + ", LSN " + oldest.physical().stopLsn() + ")"));
    });
  }

  /** The local PostgreSQL must be the backup's major version: a data directory only opens with its own. */
  private Future<Void> checkVersion(Manifest m) {
    return vertx.executeBlocking(() -> {
      Process p = new ProcessBuilder(pg.tools().tool("pg_ctl"), "--version").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      p.waitFor();
      java.util.regex.Matcher v = java.util.regex.Pattern.compile("(\\d+)(?:\\.\\d+)?").matcher(out.replaceFirst("^[^)]*\\)\\s*", ""));
      int backupMajor = m.postgresVersionNum() / 10000;
      if (v.find() && Integer.parseInt(v.group(1)) != backupMajor) {
        throw new FlotillaException(ErrorCode.CONFIG, "backup " + m.backupId() + " is of PostgreSQL " + backupMajor + " but the local PostgreSQL is "
            + out + ": set postgres.bin to the PostgreSQL " + backupMajor + " binaries");
      }
      return null;
    }, false);
  }

  private Future<Void> checkEmpty(Path pgdata, Manifest m) {
    return vertx.executeBlocking(() -> {
      for (Manifest.Tablespace ts : m.physical().tablespaces()) {
        Path dir = ts.oid() == 0 ? pgdata : Path.of(ts.location());
        if (Files.exists(dir)) {
          try (Stream<Path> s = Files.list(dir)) {
            if (s.findAny().isPresent()) {
              throw new FlotillaException(ErrorCode.CONFLICT, (ts.oid() == 0 ? "--pgdata " : "tablespace directory ") + dir
                  + " is not empty: restore into an empty or new directory");
            }
          }
        }
      }
      return null;
    }, false);
  }

  private Future<Void> unpack(Manifest m, Path pgdata) {
    Map<String, Manifest.FileEntry> expected = new HashMap<>();
    for (Manifest.FileEntry f : m.physical().files()) {
      expected.put(f.tablespace() + ":" + f.path(), f);
    }
    CodecChain codecs = Repository.codecs(m);
    progress.expect(m.plainBytes());
    // Every archive is unpacked at once: PGDATA comes in several parts, and tablespaces are separate.
    List<Future<Void>> unpacked = new ArrayList<>();
    progress.label("restore");
    for (Manifest.Tablespace ts : m.physical().tablespaces()) {
      Manifest.ObjectEntry entry = m.object(ts.object()).orElseThrow(() -> new FlotillaException(ErrorCode.INTEGRITY,
          "manifest of " + m.backupId() + " lists tablespace " + ts.oid() + " without its object"));
      Path root = ts.oid() == 0 ? pgdata : Path.of(ts.location());
      String key = Repository.backupPrefix(m.host(), m.backupId()) + ts.object();
      unpacked.add(ObjectTransfers.download(repo, codecs, key, entry, true, "unpack-" + ts.object(), progress,
          plain -> extract(plain, root, ts.oid(), expected, key)));
    }
    return Future.all(unpacked).mapEmpty();
  }

  /** Unpacks one tar stream under {@code root}, refusing any entry that would land outside it. */
  private static void extract(InputStream plain, Path root, long oid, Map<String, Manifest.FileEntry> expected, String key) throws IOException {
    Files.createDirectories(root);
    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwx------"));
    Path base = root.toRealPath();
    TarArchiveInputStream tar = io.flotilla.agent.archive.TarStreams.input(plain);
    TarArchiveEntry e;
    byte[] buf = new byte[io.flotilla.agent.archive.TarStreams.BLOCK];
    while ((e = tar.getNextEntry()) != null) {
      // Refuses absolute names, '..', and names under a symlink an earlier entry made.
      Path target = io.flotilla.agent.archive.TarStreams.target(base, e.getName(), key);
      if (e.isDirectory()) {
        Files.createDirectories(target);
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwx------"));
        // (other parts may have created it already, without its entry: createDirectories is idempotent)
      } else if (e.isSymbolicLink()) {
        Files.createDirectories(target.getParent());
        Files.createSymbolicLink(target, Path.of(e.getLinkName()));
      } else if (e.isFile()) {
        if (!Files.isDirectory(target.getParent())) {
          Files.createDirectories(target.getParent());
          Files.setPosixFilePermissions(target.getParent(), PosixFilePermissions.fromString("rwx------"));
        }
        MessageDigest sha = io.flotilla.codec.MeasuringOutputStream.sha256();
        try (OutputStream out = Files.newOutputStream(target, java.nio.file.StandardOpenOption.CREATE,
            java.nio.file.StandardOpenOption.TRUNCATE_EXISTING, java.nio.file.StandardOpenOption.WRITE, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          int n;
          while ((n = tar.read(buf)) > 0) {
            sha.update(buf, 0, n);
            out.write(buf, 0, n);
          }
        }
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-------"));
        Files.setLastModifiedTime(target, FileTime.fromMillis(e.getModTime().getTime()));
        Manifest.FileEntry want = expected.get(oid + ":" + e.getName());
        String got = HexFormat.of().formatHex(sha.digest());
        if (want == null || !want.sha256().equals(got)) {
          throw new FlotillaException(ErrorCode.INTEGRITY, key + ": file " + e.getName() + (want == null ? " is not in the manifest"
              : " has SHA-256 " + got + ", the manifest says " + want.sha256()));
        }
      }
    }
  }

  private static void removeContents(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return;
    }
    Files.walkFileTree(dir, new java.nio.file.SimpleFileVisitor<>() {
      @Override
      public java.nio.file.FileVisitResult visitFile(Path file, java.nio.file.attribute.BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return java.nio.file.FileVisitResult.CONTINUE;
      }

      @Override
      public java.nio.file.FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
        if (!d.equals(dir)) {
          Files.delete(d);
        }
        return java.nio.file.FileVisitResult.CONTINUE;
      }
    });
  }


  private static String quote(String value) {
    return "'" + value.replace("'", "''") + "'";
  }

  /** Writes backup_label, tablespace_map, the recovery settings and recovery.signal. Blocking. */
  private void configure(Manifest m, Request r) throws IOException {
    Path pgdata = r.pgdata();
    Manifest.Physical p = m.physical();
    Files.writeString(pgdata.resolve("backup_label"), p.backupLabel(), StandardCharsets.UTF_8);
    if (p.tablespaceMap() != null && !p.tablespaceMap().isEmpty()) {
      Files.writeString(pgdata.resolve("tablespace_map"), p.tablespaceMap(), StandardCharsets.UTF_8);
      // PostgreSQL recreates pg_tblspc links from tablespace_map; links restored from the archive would clash.
      Path tblspc = pgdata.resolve("pg_tblspc");
      if (Files.isDirectory(tblspc)) {
        try (Stream<Path> links = Files.list(tblspc)) {
          for (Path l : links.toList()) {
            if (Files.isSymbolicLink(l)) {
              Files.delete(l);
            }
          }
        }
      }
    }
    Files.createDirectories(pgdata.resolve("pg_wal/archive_status"));
    List<String> settings = new ArrayList<>();
    settings.add("");
    settings.add("# Added by flotilla restore of backup " + m.backupId() + " at " + Instant.now());
    // Always the repository restored from: a restore from a replica must keep fetching WAL from it when the primary is gone.
    settings.add("restore_command = " + quote(r.launcher() + " wal-fetch --config " + r.configPath() + " --repo " + repo.name() + " %f %p"));
    settings.add("recovery_target_timeline = " + quote(r.target().timeline() == null ? "latest" : r.target().timeline()));
    Target t = r.target();
    if (t.time() != null) {
      settings.add("recovery_target_time = " + quote(java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS'+00'")
          .withZone(java.time.ZoneOffset.UTC).format(t.time())));
    } else if (t.lsn() != null) {
      settings.add("recovery_target_lsn = " + quote(t.lsn()));
    } else if (t.xid() != null) {
      settings.add("recovery_target_xid = " + quote(t.xid()));
    } else if (t.name() != null) {
      settings.add("recovery_target_name = " + quote(t.name()));
    }
    if (t.any()) {
      settings.add("recovery_target_action = " + quote(t.action()));
    }
    if (r.port() != null) {
      settings.add("port = " + r.port());
    }
    Files.writeString(pgdata.resolve("postgresql.auto.conf"), String.join("\n", settings) + "\n", StandardCharsets.UTF_8,
        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    Files.writeString(pgdata.resolve("recovery.signal"), "");
    if (isRoot()) {
      List<Path> roots = new ArrayList<>(List.of(pgdata));
      p.tablespaces().stream().filter(ts -> ts.oid() != 0).forEach(ts -> roots.add(Path.of(ts.location())));
      for (Path dir : roots) {
        run(List.of("chown", "-R", r.owner() + ":", dir.toString()));
      }
    }
    LOG.info("host={} backup={} restored into {} with recovery settings", config.host(), m.backupId(), pgdata);
  }

  private static boolean isRoot() {
    return "root".equals(System.getProperty("user.name"));
  }

  private static void run(List<String> cmd) throws IOException {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.waitFor() != 0) {
        throw new FlotillaException(ErrorCode.LOCAL_IO, String.join(" ", cmd) + " failed: " + out.strip());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  /** Starts PostgreSQL on the restored directory and waits until recovery reaches its target or ends. */
  private Future<String[]> start(Request r) {
    return vertx.executeBlocking(() -> {
      List<String> cmd = new ArrayList<>();
      if (isRoot()) {
        cmd.addAll(List.of("runuser", "-u", r.owner(), "--"));
      }
      cmd.addAll(List.of(pg.tools().tool("pg_ctl"), "-D", r.pgdata().toString(), "-l", r.pgdata().resolve("startup.log").toString(), "-w", "-t", "3600"));
      if (r.port() != null) {
        cmd.addAll(List.of("-o", "-p " + r.port()));
      }
      cmd.add("start");
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      int exit = p.waitFor();
      String log = Files.exists(r.pgdata().resolve("startup.log")) ? Files.readString(r.pgdata().resolve("startup.log")) : "";
      boolean shutdownAction = "shutdown".equals(r.target().action()) && r.target().any();
      if (exit != 0 && !(shutdownAction && log.contains("shutdown at recovery target"))) {
        String fatal = log.lines().filter(l -> l.contains("FATAL") || l.contains("PANIC")).findFirst().orElse(out.strip());
        throw new FlotillaException(ErrorCode.POSTGRES, "PostgreSQL did not start on " + r.pgdata() + ": " + fatal);
      }
      return log;
    }, false).compose(log -> waitForTarget(r, 0));
  }

  private Future<String[]> waitForTarget(Request r, int attempt) {
    int port = r.port() != null ? r.port() : 5432;
    String url = "postgresql://" + userOf(config.postgres().url()) + "@127.0.0.1:" + port + "/postgres";
    PgSession local = new PgSession(pg.tools(), new io.flotilla.config.PostgresConfig(url, null, null));
    return vertx.executeBlocking(() -> {
      try {
        List<List<String>> rows = local.query(null, "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() ELSE '' END,"
            + " coalesce(pg_last_wal_replay_lsn()::text, pg_current_wal_lsn()::text), coalesce(pg_last_xact_replay_timestamp()::text, '')");
        List<String> row = rows.get(0);
        boolean inRecovery = "t".equals(row.get(0));
        if (!inRecovery) {
          return new String[] {row.get(2), row.get(3), "promoted"};
        }
        if ("paused".equals(row.get(1))) {
          return new String[] {row.get(2), row.get(3), "paused at recovery target"};
        }
        return null; // still replaying
      } catch (FlotillaException e) {
        String log = Files.exists(r.pgdata().resolve("startup.log")) ? Files.readString(r.pgdata().resolve("startup.log")) : "";
        if (log.contains("shutdown at recovery target")) {
          return new String[] {null, null, "shut down at recovery target"};
        }
        if (!Files.exists(r.pgdata().resolve("postmaster.pid"))) {
          throw recoveryFailure(log, r.pgdata());
        }
        if (attempt > 60) {
          throw e;
        }
        return null;
      }
    }, false).compose(reached -> {
      if (reached != null) {
        return Future.succeededFuture(reached);
      }
      if (attempt > 3600) {
        return Future.failedFuture(new FlotillaException(ErrorCode.POSTGRES, "recovery did not reach its target within an hour"));
      }
      io.vertx.core.Promise<Void> tick = io.vertx.core.Promise.promise();
      vertx.setTimer(1000, id -> tick.complete());
      return tick.future().compose(v -> waitForTarget(r, attempt + 1));
    });
  }

  /** Why a restored server stopped, in one line, from its log. */
  private static FlotillaException recoveryFailure(String log, Path pgdata) {
    if (log.contains("recovery ended before configured recovery target was reached")) {
      String redo = log.lines().filter(l -> l.contains("redo done at")).reduce((a, b) -> b).orElse("");
      String last = log.lines().filter(l -> l.contains("last completed transaction was at log time")).reduce((a, b) -> b).orElse("");
      return new FlotillaException(ErrorCode.NOT_FOUND, "the WAL archive ends before the recovery target: replay stopped"
          + redo.replaceAll(".*redo done at ([0-9A-F/]+).*", " at $1")
          + last.replaceAll(".*log time (.*)", ", last transaction at $1") + " (PostgreSQL stopped; log in " + pgdata.resolve("startup.log") + ")");
    }
    String fatal = log.lines().filter(l -> l.contains("FATAL") || l.contains("PANIC")).findFirst().orElse("see " + pgdata.resolve("startup.log"));
    return new FlotillaException(ErrorCode.POSTGRES, "the restored PostgreSQL stopped during recovery: " + fatal.replaceAll("^.*?(FATAL|PANIC):\\s*", ""));
  }

  private static String userOf(String url) {
    String rest = url.substring(url.indexOf("://") + 3);
    int at = rest.indexOf('@');
    if (at < 0) {
      return System.getProperty("user.name");
    }
    String user = rest.substring(0, at);
    int colon = user.indexOf(':');
    return colon >= 0 ? user.substring(0, colon) : user;
  }
}
