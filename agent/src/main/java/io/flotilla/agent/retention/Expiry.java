package io.flotilla.agent.retention;

import io.flotilla.agent.restore.RestoreTracking;
import io.flotilla.codec.CodecChain;
import io.flotilla.manifest.Manifest;
import io.flotilla.repo.Repository;
import io.flotilla.repo.StoredObject;
import io.flotilla.retention.RetentionPlanner;
import io.flotilla.retention.RetentionPolicy;
import io.flotilla.wal.WalFile;
import io.vertx.core.Future;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies a host's retention policy to one repository: plans with {@link RetentionPlanner}, then
 * removes each expired backup (its {@code manifest.json} first, so a half-removed backup is never
 * seen as complete; then its objects), then the WAL older than every kept physical backup needs.
 *
 * <p>Backups named in a restore marker younger than {@link RestoreTracking#MARKER_LIFETIME} are
 * kept; older markers are from restores that died, and are removed. A policy that keeps everything
 * removes nothing at all.
 */
public final class Expiry {
  private static final Logger LOG = LoggerFactory.getLogger(Expiry.class);

  private final Repository repo;

  public Expiry(Repository repo) {
    this.repo = repo;
  }

  /**
   * What an expire did (or, dry, would do).
   *
   * @param host the host
   * @param policy the policy applied
   * @param dryRun whether nothing was removed
   * @param plan every backup's decision and the WAL boundary
   * @param walRemoved WAL object keys removed (or to remove)
   * @param walKept WAL objects that stay
   * @param staleMarkers keys of restore markers too old to protect anything, removed
   */
  public record Result(String host, RetentionPolicy policy, boolean dryRun, RetentionPlanner.Plan plan, List<String> walRemoved, int walKept,
      List<String> staleMarkers) {}

  public Future<Result> run(String host, RetentionPolicy policy, boolean dryRun) {
    return run(host, policy, dryRun, Instant.now());
  }

  public Future<Result> run(String host, RetentionPolicy policy, boolean dryRun, Instant now) {
    if (policy.keepsEverything()) {
      return repo.listBackups(host).map(all -> new Result(host, policy, dryRun,
          new RetentionPlanner(policy).plan(all, now, Set.of()), List.of(), 0, List.of()));
    }
    return RestoreTracking.markers(repo, host).compose(markers -> {
      Set<String> inUse = new HashSet<>();
      List<String> stale = new ArrayList<>();
      for (RestoreTracking.Found f : markers) {
        if (RestoreTracking.fresh(f.marker(), now)) {
          inUse.add(f.marker().backupId());
        } else {
          stale.add(f.key());
        }
      }
      return repo.listBackups(host).compose(all -> {
        RetentionPlanner.Plan plan = new RetentionPlanner(policy).plan(all, now, inUse);
        return walToRemove(host, plan.wal()).compose(wal -> {
          if (dryRun) {
            return Future.succeededFuture(new Result(host, policy, true, plan, wal.remove(), wal.kept(), stale));
          }
          return removeBackups(host, plan)
              .compose(v -> removeAll(wal.remove()))
              .compose(v -> removeAll(stale))
              .map(v -> {
                if (!wal.remove().isEmpty()) {
                  LOG.info("host={} removed {} WAL files older than {} (needed by backup {})", host, wal.remove().size(),
                      plan.wal().get().segment(), plan.wal().get().backupId());
                }
                return new Result(host, policy, false, plan, wal.remove(), wal.kept(), stale);
              });
        });
      });
    });
  }

  /** Oldest first: if the run stops half-way, what is left is still a valid, newer set. */
  private Future<Void> removeBackups(String host, RetentionPlanner.Plan plan) {
    List<RetentionPlanner.Decision> expired = new ArrayList<>(plan.expired());
    java.util.Collections.reverse(expired);
    Future<Void> chain = Future.succeededFuture();
    for (RetentionPlanner.Decision d : expired) {
      Manifest m = d.backup();
      chain = chain
          .compose(v -> repo.storage().delete(Repository.manifestKey(host, m.backupId())))
          .compose(v -> repo.storage().deletePrefix(Repository.backupPrefix(host, m.backupId())))
          .onSuccess(v -> LOG.info("host={} backup={} expired: {} backup started {} removed", host, m.backupId(), m.kind(), m.startedAt()));
    }
    return chain;
  }

  private Future<Void> removeAll(List<String> keys) {
    Future<Void> chain = Future.succeededFuture();
    for (String key : keys) {
      chain = chain.compose(v -> repo.storage().delete(key));
    }
    return chain;
  }

  private record WalSplit(List<String> remove, int kept) {}

  private Future<WalSplit> walToRemove(String host, Optional<RetentionPlanner.WalBoundary> boundary) {
    String prefix = "hosts/" + host + "/wal/";
    return repo.storage().list(prefix).map(objects -> {
      List<String> remove = new ArrayList<>();
      int kept = 0;
      for (StoredObject o : objects) {
        Optional<WalFile> wal = walFile(o.key());
        if (boundary.isPresent() && wal.isPresent() && boundary.get().expires(wal.get())) {
          remove.add(o.key());
        } else {
          kept++;
        }
      }
      return new WalSplit(remove, kept);
    });
  }

  /** The WAL file an object holds: its name without the codec suffix. Anything else is left alone. */
  public static Optional<WalFile> walFile(String key) {
    String name = key.substring(key.lastIndexOf('/') + 1);
    for (String suffix : CodecChain.knownSuffixes()) {
      if (name.endsWith(suffix)) {
        Optional<WalFile> wal = WalFile.parse(name.substring(0, name.length() - suffix.length()));
        if (wal.isPresent()) {
          return wal;
        }
      }
    }
    return Optional.empty();
  }
}
