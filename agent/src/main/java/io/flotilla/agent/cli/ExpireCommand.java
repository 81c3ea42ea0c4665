package io.flotilla.agent.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.agent.retention.Expiry;
import io.flotilla.manifest.Manifests;
import io.flotilla.retention.RetentionPlanner;
import io.flotilla.retention.RetentionPolicy;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "expire", description = {
    "Remove the backups this host's retention policy (the retention: block of the config) no longer keeps, and the WAL only they needed.",
    "The newest backup of each kind, and backups a running restore reads, always stay."})
final class ExpireCommand extends AgentCommand {
  @Option(names = "--repo", paramLabel = "NAME", description = "Repository to expire in (default: the first configured).")
  String repo;

  @Option(names = "--dry-run", description = "Show what would be removed; remove nothing.")
  boolean dryRun;

  @Override
  int execute(Session s) {
    RetentionPolicy policy = s.config.retention();
    Expiry.Result r = s.await(() -> s.repository(repo, false)
        .compose(repository -> new Expiry(repository).run(s.config.host(), policy, dryRun).eventually(repository::close)));
    if (common.json) {
      out().println(json(r).toPrettyString());
    } else {
      text(r);
    }
    return 0;
  }

  private void text(Expiry.Result r) {
    if (r.policy().keepsEverything()) {
      out().printf("retention policy of host %s keeps everything (no keep-* or recovery-window-days in the retention: block): "
          + "nothing removed, %d backups kept%n", r.host(), r.plan().decisions().size());
      return;
    }
    out().printf("host %s, policy: %s%s%n", r.host(), describe(r.policy()), r.dryRun() ? " (dry run: nothing is removed)" : "");
    String fmt = "%-7s %-22s %-9s %-20s %s%n";
    for (RetentionPlanner.Decision d : r.plan().decisions()) {
      out().printf(fmt, d.keep() ? "keep" : (r.dryRun() ? "expire" : "removed"), d.backupId(), d.backup().kind(),
          d.backup().startedAt().replace('T', ' ').replaceAll("\\.\\d+Z$", "Z"), String.join(", ", d.reasons()));
    }
    String verb = r.dryRun() ? "would remove" : "removed";
    if (r.plan().wal().isPresent()) {
      RetentionPlanner.WalBoundary b = r.plan().wal().get();
      out().printf("WAL: %s %d files before %s (where backup %s starts); %d kept%n", verb, r.walRemoved().size(), b.segment(), b.backupId(), r.walKept());
    } else {
      out().printf("WAL: no physical backup kept, so no WAL removed (%d files)%n", r.walKept());
    }
    if (!r.staleMarkers().isEmpty()) {
      out().printf("%s %d stale restore markers (older than 24 h)%n", verb, r.staleMarkers().size());
    }
    out().printf("%s %d of %d backups, kept %d%n", verb, r.plan().expired().size(), r.plan().decisions().size(), r.plan().kept().size());
  }

  private static ObjectNode json(Expiry.Result r) {
    ObjectNode root = Manifests.JSON.createObjectNode();
    root.put("host", r.host());
    root.put("dryRun", r.dryRun());
    RetentionPolicy p = r.policy();
    ObjectNode policy = root.putObject("policy");
    policy.put("keepLast", p.last());
    policy.put("keepDaily", p.daily());
    policy.put("keepWeekly", p.weekly());
    policy.put("keepMonthly", p.monthly());
    policy.put("keepYearly", p.yearly());
    policy.put("recoveryWindowDays", p.windowDays());
    policy.put("keepsEverything", p.keepsEverything());
    ArrayNode backups = root.putArray("backups");
    for (RetentionPlanner.Decision d : r.plan().decisions()) {
      ObjectNode n = backups.addObject();
      n.put("id", d.backupId());
      n.put("kind", d.backup().kind());
      n.put("start", d.backup().startedAt());
      n.put("end", d.backup().finishedAt());
      n.put("keep", d.keep());
      ArrayNode reasons = n.putArray("reasons");
      d.reasons().forEach(reasons::add);
    }
    ArrayNode kept = root.putArray("kept");
    r.plan().kept().forEach(d -> kept.add(d.backupId()));
    ArrayNode expired = root.putArray("expired");
    r.plan().expired().forEach(d -> expired.add(d.backupId()));
    ObjectNode wal = root.putObject("wal");
    if (r.plan().wal().isPresent()) {
      wal.put("boundary", r.plan().wal().get().segment());
      wal.put("boundaryTimeline", r.plan().wal().get().timeline());
      wal.put("boundaryBackup", r.plan().wal().get().backupId());
    } else {
      wal.putNull("boundary");
    }
    ArrayNode removed = wal.putArray("removed");
    r.walRemoved().forEach(removed::add);
    wal.put("kept", r.walKept());
    ArrayNode stale = root.putArray("staleMarkers");
    r.staleMarkers().forEach(stale::add);
    return root;
  }

  static String describe(RetentionPolicy p) {
    List<String> parts = new ArrayList<>();
    add(parts, "keep-last", p.last());
    add(parts, "keep-daily", p.daily());
    add(parts, "keep-weekly", p.weekly());
    add(parts, "keep-monthly", p.monthly());
    add(parts, "keep-yearly", p.yearly());
    add(parts, "recovery-window-days", p.windowDays());
    return parts.isEmpty() ? "keep everything" : String.join(", ", parts);
  }

  private static void add(List<String> parts, String key, int value) {
    if (value > 0) {
      parts.add(key + " " + value);
    }
  }
}
