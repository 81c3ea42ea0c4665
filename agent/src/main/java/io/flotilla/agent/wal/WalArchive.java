package io.flotilla.agent.wal;

import io.flotilla.agent.transfer.ObjectTransfers;
import io.flotilla.codec.CodecChain;
import io.flotilla.codec.MeasuringOutputStream;
import io.flotilla.config.HostConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.repo.Repository;
import io.flotilla.repo.StoredObject;
import io.flotilla.wal.WalFile;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A host's WAL archive in one repository: push a file (durable before success, idempotent for the
 * same content, loud for different content) and fetch one back (with prefetch of what follows).
 */
public final class WalArchive {
  private static final Logger LOG = LoggerFactory.getLogger(WalArchive.class);

  /** Upper bound for one segment's upload (16 MiB plus codecs); far above what a healthy push takes. */
  static final long PUSH_TIMEOUT_SECONDS = 300;

  private final Vertx vertx;
  private final HostConfig config;
  private final Repository repo;
  private final WalSpool spool;

  public WalArchive(Vertx vertx, HostConfig config, Repository repo) {
    this.vertx = vertx;
    this.config = config;
    this.repo = repo;
    this.spool = new WalSpool(config.spoolDirectory());
  }

  public WalSpool spool() {
    return spool;
  }

  static WalFile parse(String name) {
    return WalFile.parse(name).orElseThrow(() -> new FlotillaException(ErrorCode.USAGE, "'" + name + "' is not a WAL segment, .partial, .history or .backup file name"));
  }

  /** The stored object of {@code name}, whatever codecs it was written with. */
  public Future<Optional<StoredObject>> find(String name) {
    WalFile wal = parse(name);
    String prefix = wal.keyPrefix(config.host());
    return repo.storage().list(prefix).map(objects -> {
      for (String suffix : CodecChain.knownSuffixes()) {
        for (StoredObject o : objects) {
          if (o.key().equals(prefix + suffix)) {
            return Optional.of(o);
          }
        }
      }
      return Optional.empty();
    });
  }

  /** How a push ended. */
  public enum PushOutcome { PUSHED, ALREADY_ARCHIVED }

  /**
   * Makes {@code file} durable in the repository. Succeeds without work when the same content is
   * there already; fails with CONFLICT when different content is.
   */
  public Future<PushOutcome> push(Path file) {
    String name = file.getFileName().toString();
    WalFile wal = parse(name);
    return find(name).compose(existing -> existing.isPresent() ? compareWithArchived(file, existing.get()) : upload(file, wal))
        .compose(pushed -> vertx.executeBlocking(() -> {
          spool.markPushed(name, pushed.sha256(), Instant.now());
          LOG.info("host={} wal={} {}", config.host(), name, pushed.outcome() == PushOutcome.PUSHED ? "archived" : "already archived");
          return pushed.outcome();
        }, false));
  }

  /** How a push ended, and the SHA-256 of the file's content. */
  private record Pushed(PushOutcome outcome, String sha256) {}

  /** The name is archived already: success if the content is the same, CONFLICT otherwise. */
  private Future<Pushed> compareWithArchived(Path file, StoredObject archived) {
    String name = file.getFileName().toString();
    return vertx.executeBlocking(() -> {
          MeasuringOutputStream digest = new MeasuringOutputStream(OutputStream.nullOutputStream(), true, null);
          try (InputStream in = Files.newInputStream(file)) {
            in.transferTo(digest);
          }
          return digest.sha256Hex();
        }, false)
        .recover(t -> Future.failedFuture(new FlotillaException(ErrorCode.LOCAL_IO, "cannot read " + file + ": " + t.getMessage(), t)))
        .compose(sha -> plainSha256(archived).compose(storedSha -> storedSha.equals(sha)
            ? Future.succeededFuture(new Pushed(PushOutcome.ALREADY_ARCHIVED, sha))
            : Future.failedFuture(new FlotillaException(ErrorCode.CONFLICT, name + " is already archived in " + repo.describe()
                + " with different content (archived SHA-256 " + storedSha + ", this file " + sha
                + "): two clusters may be archiving as host " + config.host()))));
  }

  /** Streams the file into the repository, reading it once: its SHA-256 is taken on the way. */
  private Future<Pushed> upload(Path file, WalFile wal) {
    String name = wal.name();
    // Single-threaded zstd per segment: the daemon already pushes several segments at once, and
    // a 16 MiB segment gains nothing from zstd's worker threads.
    CodecChain configured = CodecChain.from(config.compression(), config.encryption());
    CodecChain codecs = new CodecChain(configured.compression(), configured.level(), 0, configured.encryption());
    String key = wal.keyPrefix(config.host()) + codecs.suffix();
    String[] sha = new String[1];
    return ObjectTransfers.upload(repo, codecs, key, name, "wal", "wal", "wal " + name, null, plain -> {
          MeasuringOutputStream digest = new MeasuringOutputStream(plain, true, null);
          try (InputStream in = Files.newInputStream(file)) {
            in.transferTo(digest);
          } catch (java.io.IOException e) {
            throw new FlotillaException(ErrorCode.LOCAL_IO, "cannot read " + file + ": " + e.getMessage(), e);
          }
          sha[0] = digest.sha256Hex();
        })
        // A segment upload that has not finished after minutes must not hold a push slot (and a
        // waiting archive_command) forever: fail it so the caller retries. See the session note.
        .timeout(PUSH_TIMEOUT_SECONDS, java.util.concurrent.TimeUnit.SECONDS)
        .recover(t -> Future.failedFuture(t instanceof java.util.concurrent.TimeoutException
            ? new FlotillaException(ErrorCode.REPOSITORY, "pushing " + name + " to " + repo.describe() + " did not complete within "
                + PUSH_TIMEOUT_SECONDS + " s; giving up this attempt")
            : t))
        .map(entry -> new Pushed(PushOutcome.PUSHED, sha[0]));
  }

  private Future<String> plainSha256(StoredObject object) {
    String[] sha = new String[1];
    return ObjectTransfers.download(repo, CodecChain.fromKey(object.key()), object.key(), null, false, "wal-compare", null, plain -> {
      MeasuringOutputStream digest = new MeasuringOutputStream(OutputStream.nullOutputStream(), true, null);
      plain.transferTo(digest);
      sha[0] = digest.sha256Hex();
    }).map(v -> sha[0]);
  }

  /**
   * Fetches {@code name} into {@code destination} (written under a temporary name, then renamed).
   * Returns false, quietly, when the archive does not have it: PostgreSQL asks past the end.
   */
  public Future<Boolean> fetch(String name, Path destination, int prefetch) {
    WalFile wal = parse(name);
    return vertx.executeBlocking(() -> {
      Path ready = spool.prefetched(name);
      if (Files.exists(ready)) {
        Files.move(ready, destination, StandardCopyOption.REPLACE_EXISTING);
        return true;
      }
      return false;
    }, false).compose(fromSpool -> fromSpool ? Future.succeededFuture(true) : download(name, destination))
        .compose(found -> {
          if (!found || wal.kind() != WalFile.Kind.SEGMENT || prefetch <= 0) {
            return Future.succeededFuture(found);
          }
          return prefetchAfter(wal, destination, prefetch).map(found);
        });
  }

  private Future<Boolean> download(String name, Path destination) {
    return find(name).compose(found -> {
      if (found.isEmpty()) {
        return Future.succeededFuture(false);
      }
      Path tmp = destination.resolveSibling("." + destination.getFileName() + ".flotilla-tmp");
      return ObjectTransfers.download(repo, CodecChain.fromKey(found.get().key()), found.get().key(), null, false, "wal " + name, null, plain -> {
        try (OutputStream out = Files.newOutputStream(tmp)) {
          plain.transferTo(out);
        }
      }).compose(v -> vertx.executeBlocking(() -> {
        Files.move(tmp, destination, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return true;
      }, false)).onFailure(t -> vertx.executeBlocking(() -> Files.deleteIfExists(tmp), false));
    });
  }

  /** Fetches up to {@code count} following segments into the spool, in parallel; stops at the archive's end. */
  private Future<Void> prefetchAfter(WalFile wal, Path fetched, int count) {
    return vertx.executeBlocking(() -> {
      long segmentSize = Files.size(fetched);
      Files.createDirectories(spool.prefetchDirectory());
      // Prefetched files nobody asked for within an hour are from an earlier recovery.
      try (var old = Files.list(spool.prefetchDirectory())) {
        Instant cutoff = Instant.now().minusSeconds(3600);
        for (Path p : old.toList()) {
          if (Files.getLastModifiedTime(p).toInstant().isBefore(cutoff)) {
            Files.deleteIfExists(p);
          }
        }
      }
      List<String> names = new ArrayList<>();
      if (segmentSize > 0 && Long.bitCount(segmentSize) == 1) {
        long number = WalFile.segmentNumber(wal.name(), segmentSize);
        for (int i = 1; i <= count; i++) {
          String next = WalFile.segmentName(wal.timeline(), number + i, segmentSize);
          if (!Files.exists(spool.prefetched(next))) {
            names.add(next);
          }
        }
      }
      return names;
    }, false).compose(names -> {
      List<Future<Boolean>> all = new ArrayList<>();
      for (String n : names) {
        all.add(download(n, spool.prefetched(n)).otherwise(false));
      }
      return Future.join(all).<Void>mapEmpty().otherwiseEmpty();
    });
  }
}
