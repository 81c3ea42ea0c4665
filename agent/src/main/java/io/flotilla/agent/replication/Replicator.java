package io.flotilla.agent.replication;

import io.flotilla.agent.retention.Expiry;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.manifest.Manifest;
import io.flotilla.manifest.Manifests;
import io.flotilla.repo.PutOptions;
import io.flotilla.repo.Repository;
import io.flotilla.repo.Storage;
import io.flotilla.repo.StoredObject;
import io.flotilla.retention.RetentionPlanner;
import io.flotilla.wal.WalFile;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies one host's backups and WAL from a source repository to a replica, objects as stored
 * (still compressed and encrypted), each verified after the copy:
 *
 * <ul>
 *   <li>a backup's objects must hash, as they stream from the source, to the SHA-256 its manifest
 *       records, and the copy read back from the replica must hash the same; only when every
 *       object holds is {@code manifest.json} written, last, so the replica never shows a backup
 *       that is not all there. A bad copy is deleted and named in one line;
 *   <li>WAL (history files included) and restore records ({@code drills/}): the hash taken while
 *       reading the source must equal the hash of the copy read back.
 * </ul>
 *
 * <p>Resumable and idempotent: an object already on the replica with the right size was verified
 * when it was copied (writes are atomic), so it is not copied again. WAL first, then backups oldest
 * first: a physical backup appears on the replica after the WAL it needs. Retention is the
 * replica's own: backups older than the replica's oldest backup, and WAL older than its oldest
 * physical backup needs, are not copied back after an expire there. Restore markers are local to a
 * repository and never copied.
 */
public final class Replicator {
  private static final Logger LOG = LoggerFactory.getLogger(Replicator.class);
  private static final String MANIFEST = "/manifest.json";

  private final Repository source;
  private final Repository replica;
  private final String host;

  public Replicator(Repository source, Repository replica, String host) {
    this.source = source;
    this.replica = replica;
    this.host = host;
  }

  /** One object to copy. {@code sha256} is what the manifest records (null outside a backup); {@code label} picks the storage class. */
  record Item(String key, long size, String sha256, String label) {}

  /** A complete source backup the replica lacks: the objects it still needs, then its manifest. */
  record BackupPlan(String backupId, String label, String manifestKey, List<Item> objects) {}

  /** What the replica lacks. */
  public record Plan(List<Item> files, List<BackupPlan> backups) {
    public long objectsBehind() {
      return files.size() + backups.stream().mapToLong(b -> b.objects().size() + 1).sum();
    }

    public long bytesBehind() {
      return files.stream().mapToLong(Item::size).sum() + backups.stream().flatMap(b -> b.objects().stream()).mapToLong(Item::size).sum();
    }
  }

  /** @param key the object that failed; @param problem what was wrong, one line */
  public record Failure(String key, String problem) {
    public String line() {
      return key + ": " + problem;
    }
  }

  /**
   * What one pass did.
   *
   * @param started when the pass listed the source: everything there then is on the replica when
   *     {@code failures} is empty
   * @param copiedObjects objects written to the replica (manifests included)
   * @param copiedBytes their bytes
   * @param backupsCompleted backups whose manifest this pass wrote
   * @param failures objects that could not be copied and verified
   * @param objectsBehind objects still missing on the replica after the pass
   * @param bytesBehind their bytes
   */
  public record Result(String host, String source, String replica, Instant started, Duration took, int copiedObjects, long copiedBytes,
      List<String> backupsCompleted, List<Failure> failures, long objectsBehind, long bytesBehind) {}

  /** Lists both sides and works out what the replica lacks. */
  public Future<Plan> plan() {
    String backups = Repository.backupsPrefix(host);
    String wal = Repository.walPrefix(host);
    String drills = "hosts/" + host + "/drills/";
    Storage src = source.storage();
    Storage dst = replica.storage();
    return Future.all(List.of(src.list(backups), src.list(wal), src.list(drills), dst.list(backups), dst.list(wal), dst.list(drills)))
        .compose(all -> {
          List<StoredObject> srcBackups = all.resultAt(0);
          List<StoredObject> srcWal = all.resultAt(1);
          List<StoredObject> srcDrills = all.resultAt(2);
          Map<String, Long> have = new HashMap<>();
          for (int i = 3; i < 6; i++) {
            List<StoredObject> objects = all.resultAt(i);
            objects.forEach(o -> have.put(o.key(), o.size()));
          }
          TreeMap<String, String> sourceManifests = manifests(srcBackups, backups);
          TreeMap<String, String> replicaManifests = manifests(keys(have, backups), backups);
          String floor = replicaManifests.isEmpty() ? null : replicaManifests.firstKey();
          List<Item> files = new ArrayList<>();
          List<StoredObject> missingWal = srcWal.stream().filter(o -> !Long.valueOf(o.size()).equals(have.get(o.key()))).toList();
          srcDrills.stream().filter(o -> !Long.valueOf(o.size()).equals(have.get(o.key())))
              .forEach(o -> files.add(new Item(o.key(), o.size(), null, null)));
          Future<Optional<RetentionPlanner.WalBoundary>> walFloor = missingWal.isEmpty() || replicaManifests.isEmpty()
              ? Future.succeededFuture(Optional.empty())
              : replica.listBackups(host).map(ms -> RetentionPlanner.walBoundary(ms.stream().filter(m -> "physical".equals(m.kind())).toList()));
          List<Future<Optional<BackupPlan>>> plans = new ArrayList<>();
          for (Map.Entry<String, String> e : sourceManifests.entrySet()) {
            String id = e.getKey();
            if (replicaManifests.containsKey(id) || (floor != null && id.compareTo(floor) < 0)) {
              continue;
            }
            plans.add(src.getBytes(e.getValue()).map(b -> {
              Manifest m = Manifests.fromJson(b, Manifest.class, source.describe() + " " + e.getValue());
              List<Item> need = new ArrayList<>();
              for (Manifest.ObjectEntry o : m.objects()) {
                String key = Repository.backupPrefix(host, id) + o.key();
                if (!Long.valueOf(o.storedBytes()).equals(have.get(key))) {
                  need.add(new Item(key, o.storedBytes(), o.sha256(), m.label()));
                }
              }
              return Optional.of(new BackupPlan(id, m.label(), e.getValue(), need));
            }));
          }
          return walFloor.compose(boundary -> {
            List<Item> walItems = new ArrayList<>();
            for (StoredObject o : missingWal) {
              Optional<WalFile> f = Expiry.walFile(o.key());
              if (boundary.isPresent() && f.isPresent() && boundary.get().expires(f.get())) {
                continue; // expired on the replica by its own retention
              }
              walItems.add(new Item(o.key(), o.size(), null, null));
            }
            walItems.addAll(files);
            return Future.all(plans).map(done -> {
              List<BackupPlan> out = new ArrayList<>();
              for (int i = 0; i < plans.size(); i++) {
                Optional<BackupPlan> p = done.resultAt(i);
                p.ifPresent(out::add);
              }
              return new Plan(walItems, out);
            });
          });
        });
  }

  private static List<StoredObject> keys(Map<String, Long> have, String prefix) {
    return have.entrySet().stream().filter(e -> e.getKey().startsWith(prefix)).map(e -> new StoredObject(e.getKey(), e.getValue())).toList();
  }

  /** Backup id -> manifest key, for the complete backups in a listing (ids sort by time). */
  private static TreeMap<String, String> manifests(List<StoredObject> objects, String prefix) {
    TreeMap<String, String> out = new TreeMap<>();
    for (StoredObject o : objects) {
      String rest = o.key().substring(prefix.length());
      if (rest.endsWith(MANIFEST) && rest.indexOf('/') == rest.length() - MANIFEST.length()) {
        out.put(rest.substring(0, rest.length() - MANIFEST.length()), o.key());
      }
    }
    return out;
  }

  /** One pass: plan, copy and verify, report. Fails only when a side cannot be listed; bad objects are in the result. */
  public Future<Result> run() {
    Instant started = Instant.now();
    return plan().compose(plan -> {
      Counters c = new Counters();
      Future<Void> chain = Future.succeededFuture();
      for (Item item : plan.files()) {
        chain = chain.compose(v -> copyVerified(item, null, c).otherwiseEmpty());
      }
      for (BackupPlan b : plan.backups()) {
        chain = chain.compose(v -> copyBackup(b, c));
      }
      return chain.compose(v -> plan().map(after -> {
        Result r = new Result(host, source.name(), replica.name(), started, Duration.between(started, Instant.now()), c.objects, c.bytes,
            List.copyOf(c.completed), List.copyOf(c.failures), after.objectsBehind(), after.bytesBehind());
        LOG.info("host={} replication {} -> {}: {} objects ({} bytes) copied, {} backups completed, {} failures, {} objects behind", host,
            source.name(), replica.name(), c.objects, c.bytes, c.completed.size(), c.failures.size(), r.objectsBehind());
        return r;
      }));
    });
  }

  private static final class Counters {
    int objects;
    long bytes;
    final List<String> completed = new ArrayList<>();
    final List<Failure> failures = new ArrayList<>();
  }

  private Future<Void> copyBackup(BackupPlan b, Counters c) {
    int failuresBefore = c.failures.size();
    Future<Void> chain = Future.succeededFuture();
    for (Item item : b.objects()) {
      chain = chain.compose(v -> copyVerified(item, b.backupId(), c).otherwiseEmpty());
    }
    return chain.compose(v -> {
      if (c.failures.size() > failuresBefore) {
        LOG.warn("host={} backup={} not replicated to {}: {} object(s) failed verification; its manifest is not written", host, b.backupId(),
            replica.name(), c.failures.size() - failuresBefore);
        return Future.succeededFuture();
      }
      // Every object is there and verified: now, and only now, the manifest (its exact bytes, read back).
      return source.storage().getBytes(b.manifestKey())
          .compose(bytes -> replica.storage().putBytes(b.manifestKey(), bytes, PutOptions.label(b.label()))
              .compose(st -> replica.storage().getBytes(b.manifestKey()))
              .compose(back -> {
                if (!sha256(back).equals(sha256(bytes))) {
                  return replica.storage().delete(b.manifestKey()).compose(x -> Future.failedFuture(new FlotillaException(ErrorCode.INTEGRITY,
                      "manifest read back from the replica differs from the source's")));
                }
                c.objects++;
                c.bytes += bytes.length();
                c.completed.add(b.backupId());
                LOG.info("host={} backup={} replicated to {}", host, b.backupId(), replica.name());
                return Future.<Void>succeededFuture();
              }))
          .recover(t -> {
            c.failures.add(new Failure(b.manifestKey(), FlotillaException.of(t).getMessage()));
            return Future.succeededFuture();
          });
    });
  }

  /**
   * Streams one object from the source to the replica, hashing it on the way, then reads the copy
   * back and hashes it again. Any mismatch deletes the copy and records a failure naming the object.
   */
  private Future<Void> copyVerified(Item item, String backupId, Counters c) {
    String[] sentSha = new String[1];
    return source.storage().get(item.key())
        .compose(in -> {
          DigestingReadStream digesting = new DigestingReadStream(in);
          return replica.storage().put(item.key(), digesting, PutOptions.label(item.label())).map(stored -> {
            sentSha[0] = digesting.sha256Hex();
            if (digesting.count() != item.size()) {
              throw new FlotillaException(ErrorCode.INTEGRITY, "read " + digesting.count() + " bytes from the source, expected " + item.size());
            }
            if (item.sha256() != null && !item.sha256().equals(sentSha[0])) {
              throw new FlotillaException(ErrorCode.INTEGRITY, "SHA-256 on the source is " + sentSha[0] + ", the manifest of backup " + backupId
                  + " says " + item.sha256() + " (the source copy is damaged: flotilla verify --repo " + source.name() + ")");
            }
            return stored;
          });
        })
        .compose(stored -> readBackSha(item.key()).map(back -> {
          if (!back.sha.equals(sentSha[0]) || back.size != item.size()) {
            throw new FlotillaException(ErrorCode.INTEGRITY, "the copy read back from the replica has SHA-256 " + back.sha + " (" + back.size
                + " bytes), " + sentSha[0] + " (" + item.size() + " bytes) was sent");
          }
          c.objects++;
          c.bytes += item.size();
          return (Void) null;
        }))
        .recover(t -> {
          FlotillaException fe = FlotillaException.of(t);
          if (backupId == null && sentSha[0] == null && fe.code() == ErrorCode.NOT_FOUND) {
            // WAL or a record removed from the source (its own expire) since the listing: nothing to copy.
            // A backup's object that vanished stays a failure: its manifest must not be written.
            LOG.info("host={} {} is gone from {} since it was listed; not copied", host, item.key(), source.name());
            return Future.succeededFuture();
          }
          Failure f = new Failure(item.key(), fe.getMessage());
          c.failures.add(f);
          LOG.warn("host={} replication to {} failed: {}", host, replica.name(), f.line());
          // A bad copy must not stay: the next pass would take it for verified by its size.
          return replica.storage().delete(item.key()).otherwiseEmpty().compose(v -> Future.failedFuture(fe));
        });
  }

  private record Digest(String sha, long size) {}

  private Future<Digest> readBackSha(String key) {
    return replica.storage().get(key).compose(in -> {
      Promise<Digest> done = Promise.promise();
      DigestingReadStream d = new DigestingReadStream(in);
      d.exceptionHandler(done::tryFail);
      d.endHandler(v -> done.tryComplete(new Digest(d.sha256Hex(), d.count())));
      d.handler(b -> {});
      d.resume();
      return done.future();
    });
  }

  static String sha256(Buffer b) {
    MessageDigest md = io.flotilla.codec.MeasuringOutputStream.sha256();
    return HexFormat.of().formatHex(md.digest(b.getBytes()));
  }
}
