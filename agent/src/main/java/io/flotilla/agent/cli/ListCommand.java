package io.flotilla.agent.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.agent.progress.Progress;
import io.flotilla.manifest.Manifest;
import io.flotilla.manifest.Manifests;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "list", description = "List the complete backups of this host, newest first.")
final class ListCommand extends AgentCommand {
  @Option(names = "--repo", paramLabel = "NAME", description = "Repository to read (default: the first configured).")
  String repo;

  @Override
  int execute(Session s) {
    List<Manifest> backups = s.await(() -> s.repository(repo, false).compose(r -> r.listBackups(s.config.host()).eventually(r::close)));
    if (common.json) {
      ArrayNode arr = Manifests.JSON.createArrayNode();
      for (Manifest m : backups) {
        ObjectNode n = arr.addObject();
        n.put("id", m.backupId());
        n.put("kind", m.kind());
        n.put("label", m.label());
        ArrayNode dbs = n.putArray("databases");
        m.databases().forEach(d -> dbs.add(d.name()));
        n.put("globals", m.globals().isPresent());
        ArrayNode vols = n.putArray("volumes");
        m.volumes().forEach(v -> vols.add(v.name()));
        m.volumes().stream().filter(v -> v.base() != null).findFirst().ifPresent(v -> n.put("incrementalOn", v.base()));
        n.put("start", m.startedAt());
        n.put("end", m.finishedAt());
        n.put("durationSeconds", m.duration().toMillis() / 1000.0);
        n.put("plainBytes", m.plainBytes());
        n.put("storedBytes", m.storedBytes());
        n.put("postgresVersion", m.postgresVersion());
      }
      out().println(arr.toPrettyString());
      return 0;
    }
    if (backups.isEmpty()) {
      out().println("no complete backups of host " + s.config.host());
      return 0;
    }
    String fmt = "%-22s %-8s %-8s %-24s %-20s %-20s %9s %10s %10s%n";
    out().printf(fmt, "ID", "KIND", "LABEL", "CONTENTS", "START", "END", "DURATION", "PLAIN", "STORED");
    for (Manifest m : backups) {
      List<String> parts = new java.util.ArrayList<>();
      if (!m.databases().isEmpty()) {
        parts.add(String.join(",", m.databases().stream().map(Manifest.DatabaseEntry::name).toList()));
      }
      if (m.globals().isPresent()) {
        parts.add("+globals");
      }
      if (!m.volumes().isEmpty()) {
        boolean incremental = m.volumes().stream().anyMatch(v -> v.base() != null);
        parts.add("volumes: " + String.join(",", m.volumes().stream().map(Manifest.Volume::name).toList()) + (incremental ? " (incremental)" : ""));
      }
      if ("physical".equals(m.kind()) && m.physical() != null) {
        parts.add("cluster, WAL from " + m.physical().startWal());
      }
      out().printf(fmt, m.backupId(), m.kind(), m.label(), String.join(" ", parts), time(m.startedAt()), time(m.finishedAt()),
          String.format("%.1fs", m.duration().toMillis() / 1000.0), Progress.bytes(m.plainBytes()), Progress.bytes(m.storedBytes()));
    }
    return 0;
  }

  private static String time(String iso) {
    return iso.replace('T', ' ').replaceAll("\\.\\d+Z$", "Z");
  }
}
