package io.flotilla.agent.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.agent.backup.LogicalBackup;
import io.flotilla.agent.physical.PhysicalBackup;
import io.flotilla.agent.progress.Progress;
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
      description = "logical (pg_dump, default) or physical (online base backup of the whole cluster, for PITR).")
  String kind;

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
    if (!"logical".equals(kind)) {
      throw new FlotillaException(ErrorCode.USAGE, "--kind must be logical or physical, got '" + kind + "'");
    }
    if (all == !databases.isEmpty()) {
      throw new FlotillaException(ErrorCode.USAGE, all ? "give either --all or --database, not both" : "give --database NAME (repeatable) or --all");
    }
    s.progress.start(s.vertx);
    Manifest m = s.await(() -> s.repository(repo, true).compose(r ->
        new LogicalBackup(s.vertx, s.config, s.pg, r, s.progress).run(new LogicalBackup.Request(databases, all, label))
            .eventually(r::close)));
    s.progress.stop();
    if (common.json) {
      ObjectNode node = json(m);
      out().println(node.toString());
    } else {
      for (Manifest.DatabaseEntry d : m.databases()) {
        Manifest.ObjectEntry o = m.object(d.object()).orElseThrow();
        out().printf("database %s: %s dumped, %s stored%n", d.name(), Progress.bytes(o.plainBytes()), Progress.bytes(o.storedBytes()));
      }
      m.globals().ifPresent(g -> out().printf("globals: %s stored%n", Progress.bytes(g.storedBytes())));
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

  /** The manifest with its totals, as --json prints it. */
  private static ObjectNode json(Manifest m) {
    ObjectNode node = Manifests.JSON.valueToTree(m);
    node.put("plainBytes", m.plainBytes());
    node.put("storedBytes", m.storedBytes());
    node.put("durationSeconds", m.duration().toMillis() / 1000.0);
    return node;
  }
}
