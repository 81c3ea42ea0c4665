package io.flotilla.agent.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.agent.progress.Progress;
import io.flotilla.agent.physical.PhysicalRestore;
import io.flotilla.agent.restore.LogicalRestore;
import io.flotilla.agent.volume.VolumeRestore;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.manifest.Manifests;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "restore", description = {
    "Restore a database from a logical backup into a new database (restored under a temporary name, renamed on success).",
    "--globals applies the backup's roles and tablespaces first."})
final class RestoreCommand extends AgentCommand {
  @Option(names = "--backup", paramLabel = "ID|latest", defaultValue = "latest", description = "Backup id, or latest (default).")
  String backup;

  @Option(names = "--before", paramLabel = "TIMESTAMP",
      description = "With latest: the newest backup that finished before this time (ISO-8601; without an offset, UTC).")
  String before;

  @Option(names = "--database", paramLabel = "NAME", description = "Database in the backup to restore.")
  String database;

  @Option(names = "--target-database", paramLabel = "NEW", description = "Name of the database to restore into.")
  String target;

  @Option(names = "--table", paramLabel = "SCHEMA.TABLE", description = "Restore only this table (repeatable): definition, data, defaults, constraints, triggers, its sequences.")
  List<String> tables = new ArrayList<>();

  @Option(names = "--jobs", paramLabel = "N", defaultValue = "1", description = "Parallel pg_restore jobs; above 1 the dump is staged in --temp-dir.")
  int jobs;

  @Option(names = "--temp-dir", paramLabel = "DIR", description = "Where --jobs stages the dump (default: java.io.tmpdir).")
  Path tempDir;

  @Option(names = "--force", description = "Replace the target database if it exists and is not empty (volume: replace what --to holds).")
  boolean force;

  @Option(names = "--globals", description = "Apply roles and tablespaces from the backup (backups made with --all).")
  boolean globals;

  @Option(names = "--no-owner", description = "Do not restore object ownership (pg_restore --no-owner).")
  boolean noOwner;

  @Option(names = "--kind", paramLabel = "KIND", defaultValue = "logical", description = "logical (default), physical or volume.")
  String kind;

  @Option(names = "--volume", paramLabel = "NAME", description = "volume: the volume to restore.")
  String volume;

  @Option(names = "--to", paramLabel = "DIR", description = "volume: directory to restore into (created if missing; must be empty unless --force).")
  Path to;

  @Option(names = "--pgdata", paramLabel = "DIR", description = "physical: the empty directory to restore the cluster into.")
  Path pgdata;

  @Option(names = "--target-time", paramLabel = "T", description = "physical: recover up to this time (ISO-8601; no offset means UTC).")
  String targetTime;

  @Option(names = "--target-lsn", paramLabel = "LSN", description = "physical: recover up to this WAL position.")
  String targetLsn;

  @Option(names = "--target-xid", paramLabel = "XID", description = "physical: recover up to this transaction.")
  String targetXid;

  @Option(names = "--target-name", paramLabel = "NAME", description = "physical: recover up to this restore point (pg_create_restore_point).")
  String targetName;

  @Option(names = "--target-action", paramLabel = "ACTION", defaultValue = "pause",
      description = "physical: promote, pause (default, as PostgreSQL) or shutdown once the target is reached.")
  String targetAction;

  @Option(names = "--target-timeline", paramLabel = "TLI", description = "physical: timeline to recover along: latest (default), current, or a number.")
  String targetTimeline;

  @Option(names = "--start", description = "physical: start PostgreSQL and wait until the target is reached; prints the LSN and time reached.")
  boolean start;

  @Option(names = "--port", paramLabel = "P", description = "physical: port for the restored server.")
  Integer port;

  @Option(names = "--owner", paramLabel = "USER", defaultValue = "postgres",
      description = "physical, when run as root: OS user who owns the restored files and runs the server (default: ${DEFAULT-VALUE}).")
  String owner;

  @Option(names = "--repo", paramLabel = "NAME", description = "Repository to read (default: the first configured).")
  String repo;

  @Override
  int execute(Session s) {
    if ("physical".equals(kind)) {
      return physical(s);
    }
    if ("volume".equals(kind)) {
      return volume(s);
    }
    if (!"logical".equals(kind)) {
      throw new FlotillaException(ErrorCode.USAGE, "--kind must be logical, physical or volume, got '" + kind + "'");
    }
    if (jobs < 1 || jobs > 64) {
      throw new FlotillaException(ErrorCode.USAGE, "--jobs must be between 1 and 64");
    }
    if (before != null && !"latest".equals(backup)) {
      throw new FlotillaException(ErrorCode.USAGE, "--before applies only with --backup latest");
    }
    Instant beforeInstant = before == null ? null : parseTime(before);
    Path temp = tempDir != null ? tempDir : Path.of(System.getProperty("java.io.tmpdir"));
    LogicalRestore.Request request = new LogicalRestore.Request(backup, beforeInstant, database, target, tables, jobs, force, globals, noOwner, temp);
    s.progress.start(s.vertx);
    LogicalRestore.Result r = s.await(() -> s.repository(repo, false).compose(repository ->
        new LogicalRestore(s.vertx, s.config, s.pg, repository, s.progress).run(request).eventually(repository::close)));
    s.progress.stop();
    if (common.json) {
      ObjectNode n = Manifests.JSON.createObjectNode();
      n.put("backupId", r.backupId());
      n.put("database", r.database());
      n.put("targetDatabase", r.target());
      n.put("globalsApplied", r.globalsApplied());
      n.put("plainBytes", r.plainBytes());
      n.put("durationSeconds", r.duration().toMillis() / 1000.0);
      out().println(n.toString());
    } else {
      if (r.globalsApplied()) {
        out().printf("globals applied from backup %s (%d statements skipped: objects already existed)%n", r.backupId(), r.globalsSkipped());
      }
      if (r.database() != null) {
        out().printf("restored database %s from backup %s into %s: %s in %.1f s%n", r.database(), r.backupId(), r.target(),
            Progress.bytes(r.plainBytes()), r.duration().toMillis() / 1000.0);
      }
    }
    return 0;
  }

  private int physical(Session s) {
    if (pgdata == null) {
      throw new FlotillaException(ErrorCode.USAGE, "--pgdata DIR is required with --kind physical");
    }
    long targets = java.util.stream.Stream.of(targetTime, targetLsn, targetXid, targetName).filter(java.util.Objects::nonNull).count();
    if (targets > 1) {
      throw new FlotillaException(ErrorCode.USAGE, "give at most one of --target-time, --target-lsn, --target-xid, --target-name");
    }
    if (!java.util.Set.of("promote", "pause", "shutdown").contains(targetAction)) {
      throw new FlotillaException(ErrorCode.USAGE, "--target-action must be promote, pause or shutdown");
    }
    PhysicalRestore.Target target = new PhysicalRestore.Target(targetTime == null ? null : parseTime(targetTime, "--target-time"),
        targetLsn, targetXid, targetName, targetAction, targetTimeline);
    if (targetTimeline != null && !targetTimeline.matches("latest|current|\\d+")) {
      throw new FlotillaException(ErrorCode.USAGE, "--target-timeline must be latest, current or a number, got '" + targetTimeline + "'");
    }
    Path configPath = io.flotilla.config.ConfigLoader.resolvePath(common.config).toAbsolutePath();
    Path launcher = Path.of(System.getProperty("flotilla.launcher", "flotilla"));
    PhysicalRestore.Request request = new PhysicalRestore.Request(backup, pgdata.toAbsolutePath(), target, start, port, owner, configPath, launcher);
    s.progress.start(s.vertx);
    PhysicalRestore.Result r = s.await(() -> s.repository(repo, false).compose(repository ->
        new PhysicalRestore(s.vertx, s.config, repository, s.pg, s.progress).run(request).eventually(repository::close)));
    s.progress.stop();
    if (common.json) {
      ObjectNode n = Manifests.JSON.createObjectNode();
      n.put("backupId", r.backupId());
      n.put("pgdata", r.pgdata().toString());
      n.put("state", r.state());
      n.put("lsn", r.lsn());
      n.put("time", r.time());
      n.put("durationSeconds", r.duration().toMillis() / 1000.0);
      out().println(n.toString());
    } else {
      out().printf("restored backup %s into %s in %.1f s%n", r.backupId(), r.pgdata(), r.duration().toMillis() / 1000.0);
      if (start) {
        out().printf("PostgreSQL %s: reached LSN %s, last transaction at %s%n", r.state(), r.lsn(), r.time() == null || r.time().isEmpty() ? "(none replayed)" : r.time());
      } else {
        out().println("start it with: pg_ctl -D " + r.pgdata() + " start (recovery fetches WAL with flotilla wal-fetch)");
      }
    }
    return 0;
  }

  private int volume(Session s) {
    if (volume == null || to == null) {
      throw new FlotillaException(ErrorCode.USAGE, "--kind volume needs --volume NAME and --to DIR");
    }
    if (database != null || before != null) {
      throw new FlotillaException(ErrorCode.USAGE, "--database and --before do not apply to --kind volume");
    }
    VolumeRestore.Request request = new VolumeRestore.Request(volume, backup, to, force);
    s.progress.start(s.vertx);
    VolumeRestore.Result r = s.await(() -> s.repository(repo, false).compose(repository ->
        new VolumeRestore(s.vertx, s.config, repository, s.progress).run(request).eventually(repository::close)));
    s.progress.stop();
    if (common.json) {
      ObjectNode n = Manifests.JSON.createObjectNode();
      n.put("backupId", r.backupId());
      n.put("volume", r.volume());
      n.put("to", r.to().toString());
      n.put("entries", r.entries());
      n.put("bytes", r.bytes());
      com.fasterxml.jackson.databind.node.ArrayNode read = n.putArray("backupsRead");
      r.backupsRead().forEach(read::add);
      n.put("durationSeconds", r.duration().toMillis() / 1000.0);
      out().println(n.toString());
    } else {
      out().printf("restored volume %s from backup %s into %s: %d entries, %s%s in %.1f s%n", r.volume(), r.backupId(), r.to(), r.entries(),
          Progress.bytes(r.bytes()), r.backupsRead().size() > 1 ? " (archives of " + String.join(", ", r.backupsRead()) + ")" : "",
          r.duration().toMillis() / 1000.0);
    }
    return 0;
  }

  static Instant parseTime(String text) {
    return parseTime(text, "--before");
  }

  static Instant parseTime(String text, String option) {
    String t = text.trim().replace(' ', 'T');
    try {
      return OffsetDateTime.parse(t).toInstant();
    } catch (DateTimeParseException e) {
      // try the next form
    }
    try {
      return Instant.parse(t);
    } catch (DateTimeParseException e) {
      // try the next form
    }
    try {
      return LocalDateTime.parse(t).toInstant(ZoneOffset.UTC);
    } catch (DateTimeParseException e) {
      // try the next form
    }
    try {
      return LocalDate.parse(t).atStartOfDay().toInstant(ZoneOffset.UTC);
    } catch (DateTimeParseException e) {
      throw new FlotillaException(ErrorCode.USAGE, option + ": cannot read '" + text + "' as a time (use ISO-8601, e.g. 2026-11-22T02:00:00Z)");
    }
  }
}
