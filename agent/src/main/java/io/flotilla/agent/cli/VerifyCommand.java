package io.flotilla.agent.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.agent.verify.BackupVerifier;
import io.flotilla.agent.wal.WalVerifier;
import io.flotilla.error.ErrorCode;
import io.flotilla.manifest.Manifest;
import io.flotilla.manifest.Manifests;
import io.flotilla.repo.Repository;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "verify", description = {
    "Read every object of a backup (or of all backups): size, SHA-256, decryption and decompression must all hold.",
    "Exits 0 only if every object is sound; names each bad object otherwise."})
final class VerifyCommand extends AgentCommand {
  @Option(names = "--backup", paramLabel = "ID", description = "Backup id or 'latest' (default: every complete backup).")
  String backup;

  @Option(names = "--repo", paramLabel = "NAME", description = "Repository to read (default: the first configured).")
  String repo;

  @Option(names = "--wal", description = "Check the WAL archive for gaps, per timeline, from the oldest physical backup to the newest segment.")
  boolean wal;

  @Override
  int execute(Session s) {
    if (wal) {
      return verifyWal(s);
    }
    s.progress.start(s.vertx);
    List<BackupVerifier.BackupResult> results = s.await(() -> s.repository(repo, false).compose(r -> {
      Future<List<Manifest>> which = backup == null ? r.listBackups(s.config.host())
          : r.resolve(s.config.host(), backup, null, null).map(List::of);
      return which.compose(ms -> verifyAll(r, ms, new BackupVerifier(r, s.progress))).eventually(r::close);
    }));
    s.progress.stop();
    boolean sound = results.stream().allMatch(BackupVerifier.BackupResult::sound);
    if (common.json) {
      ObjectNode root = Manifests.JSON.createObjectNode();
      root.put("sound", sound);
      ArrayNode arr = root.putArray("backups");
      for (BackupVerifier.BackupResult b : results) {
        ObjectNode n = arr.addObject();
        n.put("id", b.backupId());
        n.put("sound", b.sound());
        ArrayNode objs = n.putArray("objects");
        for (BackupVerifier.ObjectResult o : b.objects()) {
          ObjectNode on = objs.addObject();
          on.put("key", o.key());
          on.put("storedBytes", o.storedBytes());
          on.put("sound", o.sound());
          if (!o.sound()) {
            on.put("problem", o.problem());
          }
        }
      }
      out().println(root.toPrettyString());
    } else {
      for (BackupVerifier.BackupResult b : results) {
        long bad = b.objects().stream().filter(o -> !o.sound()).count();
        out().printf("%s: %s (%d objects, %d bad)%n", b.backupId(), b.sound() ? "OK" : "BAD", b.objects().size(), bad);
        b.objects().stream().filter(o -> !o.sound()).forEach(o -> out().println("  BAD " + o.problem()));
      }
      if (results.isEmpty()) {
        out().println("no complete backups of host " + s.config.host() + " to verify");
      }
    }
    if (!sound) {
      err().println("flotilla verify: " + results.stream().flatMap(b -> b.objects().stream()).filter(o -> !o.sound()).count()
          + " bad object(s); first: " + results.stream().flatMap(b -> b.objects().stream()).filter(o -> !o.sound()).findFirst().orElseThrow().key());
      return ErrorCode.INTEGRITY.exitCode();
    }
    return 0;
  }

  private int verifyWal(Session s) {
    List<WalVerifier.TimelineReport> reports = s.await(() -> s.repository(repo, false).compose(r ->
        r.listBackups(s.config.host()).compose(all -> new WalVerifier(r, s.config.host()).verify(all)).eventually(r::close)));
    boolean sound = reports.stream().allMatch(t -> t.missing().isEmpty());
    if (common.json) {
      ObjectNode root = Manifests.JSON.createObjectNode();
      root.put("sound", sound);
      ArrayNode arr = root.putArray("timelines");
      for (WalVerifier.TimelineReport t : reports) {
        ObjectNode n = arr.addObject();
        n.put("timeline", t.timeline());
        n.put("first", t.first());
        n.put("last", t.last());
        n.put("segments", t.segments());
        ArrayNode missing = n.putArray("missing");
        t.missing().forEach(missing::add);
      }
      out().println(root.toPrettyString());
    } else {
      if (reports.isEmpty()) {
        out().println("no WAL archived for host " + s.config.host());
      }
      for (WalVerifier.TimelineReport t : reports) {
        out().printf("timeline %d: %s .. %s, %d segments, %s%n", t.timeline(), t.first(), t.last(), t.segments(),
            t.missing().isEmpty() ? "no gaps" : t.missing().size() + " missing");
        t.missing().forEach(m -> out().println("  MISSING " + m));
      }
    }
    if (!sound) {
      err().println("flotilla verify: the WAL archive has gaps; first missing: " + reports.stream()
          .flatMap(t -> t.missing().stream()).findFirst().orElseThrow());
      return ErrorCode.INTEGRITY.exitCode();
    }
    return 0;
  }

  private static Future<List<BackupVerifier.BackupResult>> verifyAll(Repository r, List<Manifest> ms, BackupVerifier verifier) {
    List<BackupVerifier.BackupResult> out = new ArrayList<>();
    Future<Void> chain = Future.succeededFuture();
    for (Manifest m : ms) {
      chain = chain.compose(v -> verifier.verify(m).map(res -> {
        out.add(res);
        return null;
      }));
    }
    return chain.map(v -> out);
  }
}
