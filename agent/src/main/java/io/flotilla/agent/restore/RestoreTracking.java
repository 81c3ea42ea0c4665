package io.flotilla.agent.restore;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import io.flotilla.manifest.BackupId;
import io.flotilla.manifest.Manifest;
import io.flotilla.manifest.Manifests;
import io.flotilla.repo.Repository;
import io.flotilla.repo.StoredObject;
import io.vertx.core.Future;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a restore leaves in the repository: while it runs, a marker
 * {@code hosts/<host>/restores/<restore-id>.json} that keeps expire away from the backup it reads;
 * when it succeeds, a record {@code hosts/<host>/drills/<restore-id>.json} of how long it took,
 * from which the coordinator measures the host's RTO.
 */
public final class RestoreTracking {
  private static final Logger LOG = LoggerFactory.getLogger(RestoreTracking.class);

  /** A marker older than this is from a restore that died without cleaning up. */
  public static final Duration MARKER_LIFETIME = Duration.ofHours(24);

  private RestoreTracking() {}

  /** @param backupId backup being read; @param kind logical or physical; @param startedAt ISO-8601; @param pid agent process; @param hostname where it runs */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Marker(String restoreId, String backupId, String kind, String startedAt, long pid, String hostname) {}

  /**
   * @param restoreId id of the restore (sorts by time, like backup ids)
   * @param backupId backup restored
   * @param kind logical or physical
   * @param plainBytes the backup's plain size
   * @param seconds wall time of the restore
   * @param startedAt when it began
   * @param finishedAt when it succeeded
   * @param target what was restored where
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Record(String restoreId, String backupId, String kind, long plainBytes, double seconds, String startedAt, String finishedAt,
      String target) {}

  public static String markersPrefix(String host) {
    return "hosts/" + host + "/restores/";
  }

  public static String recordsPrefix(String host) {
    return "hosts/" + host + "/drills/";
  }

  /**
   * Runs {@code restore} of backup {@code m} under a marker: the marker is durable before the
   * backup is read again, and removed afterwards whatever the outcome. On success a restore record
   * is written, describing the target with {@code target}.
   */
  public static <T> Future<T> around(Repository repo, Manifest m, Supplier<Future<T>> restore, Function<T, String> target) {
    Instant began = Instant.now();
    String id = BackupId.next(began);
    String markerKey = markersPrefix(m.host()) + id + ".json";
    // Name resolution may block: not on the event loop.
    return repo.vertx().executeBlocking(RestoreTracking::hostname, false)
        .compose(hostname -> repo.storage().putBytes(markerKey, Manifests.toJson(
            new Marker(id, m.backupId(), m.kind(), began.toString(), ProcessHandle.current().pid(), hostname))))
        // An expire that read the markers before ours may have removed the backup meanwhile.
        .compose(v -> repo.manifest(m.host(), m.backupId()))
        .compose(v -> restore.get())
        .compose(result -> {
          Instant done = Instant.now();
          Record record = new Record(id, m.backupId(), m.kind(), m.plainBytes(), Duration.between(began, done).toMillis() / 1000.0,
              began.toString(), done.toString(), target.apply(result));
          return repo.storage().putBytes(recordsPrefix(m.host()) + id + ".json", Manifests.toJson(record))
              .map(result)
              .recover(t -> {
                // The data is restored; a missing record only costs one RTO sample.
                LOG.warn("host={} backup={} restore={} could not write the restore record: {}", m.host(), m.backupId(), id, t.getMessage());
                return Future.succeededFuture(result);
              });
        })
        .eventually(() -> repo.storage().delete(markerKey).recover(t -> {
          LOG.warn("host={} backup={} could not remove restore marker {}: {} (expire removes it after {} h)", m.host(), m.backupId(), markerKey,
              t.getMessage(), MARKER_LIFETIME.toHours());
          return Future.succeededFuture();
        }));
  }

  /** A marker as found, with its key. */
  public record Found(String key, Marker marker) {}

  /** Every readable marker of {@code host}; unreadable ones are logged and skipped. */
  public static Future<List<Found>> markers(Repository repo, String host) {
    return repo.storage().list(markersPrefix(host)).compose(objects -> {
      List<Future<Found>> reads = new ArrayList<>();
      for (StoredObject o : objects) {
        if (!o.key().endsWith(".json")) {
          continue;
        }
        reads.add(repo.storage().getBytes(o.key())
            .map(b -> new Found(o.key(), Manifests.fromJson(b, Marker.class, o.key())))
            .recover(t -> {
              LOG.warn("host={} ignoring unreadable restore marker {}: {}", host, o.key(), t.getMessage());
              return Future.succeededFuture(null);
            }));
      }
      return Future.all(reads).map(all -> {
        List<Found> out = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
          Found f = all.resultAt(i);
          if (f != null && f.marker().backupId() != null && f.marker().startedAt() != null) {
            out.add(f);
          }
        }
        return out;
      });
    });
  }

  /**
   * Whether a marker is recent enough to mean a restore may still be running. One whose start
   * cannot be read counts as fresh: when in doubt, keep the backup.
   */
  public static boolean fresh(Marker marker, Instant now) {
    try {
      return Instant.parse(marker.startedAt()).isAfter(now.minus(MARKER_LIFETIME));
    } catch (java.time.format.DateTimeParseException e) {
      return true;
    }
  }

  private static String hostname() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      return "unknown";
    }
  }
}
