package io.flotilla.agent.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.agent.backup.LogicalBackup;
import io.flotilla.agent.physical.PhysicalBackup;
import io.flotilla.agent.progress.Progress;
import io.flotilla.agent.volume.VolumeBackup;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.manifest.Manifest;
import io.flotilla.manifest.Manifests;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "backup", description = {
    "Back up databases with pg_dump, streamed compressed and encrypted into the repository.",
    "Prints the new backup id as the last line of stdout (with --json: one JSON document)."})
final class BackupCommand extends AgentCommand {
  @Option(names = "--database", paramLabel = "NAME", description = "Database to back up (repeatable).")
  List<String> databases = new ArrayList<>();

  @Option(names = "--all", description = "Every non-template database, plus globals (roles, tablespaces).")
  boolean all;

  @Option(names = "--label", paramLabel = "LABEL", defaultValue = "manual", description = "manual, daily, weekly, monthly or yearly (default: ${DEFAULT-VALUE}).")
  String label;

  @Option(names = "--kind", paramLabel = "KIND", defaultValue = "logical",
      description = "logical (pg_dump, default), physical (online base backup of the whole cluster, for PITR) or volume (directories).")
  String kind;

  @Option(names = "--volume", paramLabel = "NAME", description = "volume: a configured volume to back up (repeatable; --all: every one).")
  List<String> volumes = new ArrayList<>();

  @Option(names = "--volumes", description = "logical: also archive every configured volume into the same backup, under one manifest.")
  boolean withVolumes;

  @Option(names = "--incremental", description = "Volumes store only files changed (size, mtime or mode) since their previous backup.")
  boolean incremental;

  @Option(names = "--repo", paramLabel = "NAME", description = "Repository to write to (default: the first configured).")
  String repo;

  @Option(names = "--archive-timeout", paramLabel = "SECONDS", defaultValue = "60",
      description = "physical: how long to wait for the WAL the backup needs to be archived (default: ${DEFAULT-VALUE}).")
  int archiveTimeout;

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
    if (all == !databases.isEmpty()) {
      throw new FlotillaException(ErrorCode.USAGE, all ? "give either --all or --database, not both" : "give --database NAME (repeatable) or --all");
    }
    if (!volumes.isEmpty()) {
      throw new FlotillaException(ErrorCode.USAGE, "--volume applies to --kind volume; with a logical backup, --volumes adds every volume");
    }
    if (incremental && !withVolumes) {
      throw new FlotillaException(ErrorCode.USAGE, "--incremental applies to volumes: add --volumes (or use --kind volume)");
    }
    List<String> allVolumes = withVolumes ? s.config.volumes().stream().map(io.flotilla.config.VolumeConfig::name).toList() : List.of();
    if (withVolumes && allVolumes.isEmpty()) {
      throw new FlotillaException(ErrorCode.USAGE, "--volumes: no volumes are configured (config key volumes)");
    }
    s.progress.start(s.vertx);
    Manifest m = s.await(() -> s.repository(repo, true).compose(r ->
        new LogicalBackup(s.vertx, s.config, s.pg, r, s.progress).run(new LogicalBackup.Request(databases, all, label, allVolumes, incremental))
            .eventually(r::close)));
    s.progress.stop();
    reportChanged(m);
    if (common.json) {
      ObjectNode node = json(m);
      out().println(node.toString());
    } else {
      for (Manifest.DatabaseEntry d : m.databases()) {
        Manifest.ObjectEntry o = m.object(d.object()).orElseThrow();
        out().printf("database %s: %s dumped, %s stored%n", d.name(), Progress.bytes(o.plainBytes()), Progress.bytes(o.storedBytes()));
      }
      m.globals().ifPresent(g -> out().printf("globals: %s stored%n", Progress.bytes(g.storedBytes())));
      printVolumes(m);
      out().printf("backup complete in %.1f s: %s plain, %s stored%n", m.duration().toMillis() / 1000.0,
          Progress.bytes(m.plainBytes()), Progress.bytes(m.storedBytes()));
      out().println(m.backupId());
    }
    return 0;
  }

  private int physical(Session s) {
    if (all || !databases.isEmpty()) {
      throw new FlotillaException(ErrorCode.USAGE, "--kind physical backs up the whole cluster: drop --all / --database");
    }
    if (!LogicalBackup.LABELS.contains(label)) {
      throw new FlotillaException(ErrorCode.USAGE, "--label must be one of " + String.join(", ", new java.util.TreeSet<>(LogicalBackup.LABELS)));
    }
    s.progress.start(s.vertx);
    Manifest m = s.await(() -> s.repository(repo, true).compose(r ->
        new PhysicalBackup(s.vertx, s.config, r, s.progress, java.time.Duration.ofSeconds(archiveTimeout)).run(label).eventually(r::close)));
    s.progress.stop();
    Manifest.Physical p = m.physical();
    for (Manifest.BadPage bad : p.badPages()) {
      err().printf("flotilla backup: WARNING: invalid page checksum in %s%s block %d (%s)%n",
          bad.tablespace() == 0 ? "" : "tablespace " + bad.tablespace() + " ", bad.path(), bad.block(), bad.detail());
    }
    if (common.json) {
      ObjectNode node = json(m);
      ((ObjectNode) node.get("physical")).remove("files");
      node.put("files", p.files().size());
      out().println(node.toString());
    } else {
      out().printf("physical backup complete in %.1f s: %d files, %s plain, %s stored, WAL %s to %s (timeline %d)%s%n",
          m.duration().toMillis() / 1000.0, p.files().size(), Progress.bytes(m.plainBytes()), Progress.bytes(m.storedBytes()),
          p.startLsn(), p.stopLsn(), p.timeline(), p.badPages().isEmpty() ? "" : ", " + p.badPages().size() + " bad page(s)");
      out().println(m.backupId());
    }
    return 0;
  }

  private int volume(Session s) {
    if (!databases.isEmpty() || withVolumes) {
      throw new FlotillaException(ErrorCode.USAGE, "--kind volume backs up volumes: drop --database / --volumes (use --volume NAME or --all)");
    }
    if (all == !volumes.isEmpty()) {
      throw new FlotillaException(ErrorCode.USAGE, all ? "give either --all or --volume, not both" : "give --volume NAME (repeatable) or --all");
    }
    if (!LogicalBackup.LABELS.contains(label)) {
      throw new FlotillaException(ErrorCode.USAGE, "--label must be one of " + String.join(", ", new java.util.TreeSet<>(LogicalBackup.LABELS)));
    }
    List<String> names = all ? s.config.volumes().stream().map(io.flotilla.config.VolumeConfig::name).toList() : volumes;
    if (names.isEmpty()) {
      throw new FlotillaException(ErrorCode.USAGE, "--all: no volumes are configured (config key volumes)");
    }
    s.progress.start(s.vertx);
    Manifest m = s.await(() -> s.repository(repo, true).compose(r ->
        new VolumeBackup(s.vertx, s.config, r, s.progress).run(new VolumeBackup.Request(names, incremental, label)).eventually(r::close)));
    s.progress.stop();
    reportChanged(m);
    if (common.json) {
      out().println(json(m).toString());
    } else {
      printVolumes(m);
      out().printf("volume backup complete in %.1f s: %s plain, %s stored%n", m.duration().toMillis() / 1000.0,
          Progress.bytes(m.plainBytes()), Progress.bytes(m.storedBytes()));
      out().println(m.backupId());
    }
    return 0;
  }

  /** One line on stderr per file that changed while being read: the backup holds it as read. */
  private void reportChanged(Manifest m) {
    for (Manifest.Volume v : m.volumes()) {
      for (Manifest.ChangedFile c : v.changed()) {
        err().printf("flotilla backup: WARNING: volume %s: %s changed while being read: %s%n", v.name(), c.path(), c.detail());
      }
      for (String skipped : v.skipped()) {
        err().printf("flotilla backup: WARNING: volume %s: %s is not a file, directory or symlink: left out%n", v.name(), skipped);
      }
    }
  }

  private void printVolumes(Manifest m) {
    for (Manifest.Volume v : m.volumes()) {
      Manifest.ObjectEntry o = m.object(v.object()).orElseThrow();
      long files = v.files().stream().filter(Manifest.VolumeFile::isFile).count();
      long stored = v.files().stream().filter(f -> f.isFile() && f.backup() == null).count();
      out().printf("volume %s: %d entries, %d files (%d stored%s), %s archived, %s stored%s%n", v.name(), v.files().size(), files, stored,
          v.base() == null ? "" : ", " + (files - stored) + " unchanged since " + v.base(), Progress.bytes(o.plainBytes()),
          Progress.bytes(o.storedBytes()), v.changed().isEmpty() ? "" : ", " + v.changed().size() + " changed while being read");
    }
  }

  /** The manifest with its totals, as --json prints it; volume entry lists become counts (the manifest has them). */
  private static ObjectNode json(Manifest m) {
    ObjectNode node = Manifests.JSON.valueToTree(m);
    if (node.get("volumes") instanceof com.fasterxml.jackson.databind.node.ArrayNode vols) {
      for (com.fasterxml.jackson.databind.JsonNode v : vols) {
        ObjectNode vn = (ObjectNode) v;
        int entries = vn.has("files") ? vn.get("files").size() : 0;
        vn.remove("files");
        vn.put("entries", entries);
      }
    }
    node.put("plainBytes", m.plainBytes());
    node.put("storedBytes", m.storedBytes());
    node.put("durationSeconds", m.duration().toMillis() / 1000.0);
    return node;
  }
}
