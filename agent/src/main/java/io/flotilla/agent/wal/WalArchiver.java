package io.flotilla.agent.wal;

import io.flotilla.config.HostConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's WAL service: pushes ahead of archive_command. It watches
 * {@code pg_wal/archive_status/*.ready} and pushes several files in parallel, recording each in
 * the spool once durable, so that PostgreSQL's own {@code wal-push} call mostly just confirms.
 * PostgreSQL stays in charge: a file is archived for PostgreSQL only when its archive_command
 * says so, whether or not this service is running.
 */
public final class WalArchiver extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(WalArchiver.class);
  private static final long SCAN_MS = 250;

  private final HostConfig config;
  private final WalArchive archive;
  private final int parallel;
  private final Set<String> inFlight = new HashSet<>();
  private long timer = -1;
  private long sweeper = -1;
  private boolean scanning;
  private boolean rescan;
  private volatile java.nio.file.WatchService watcher;
  private String lastError;

  public WalArchiver(HostConfig config, WalArchive archive, int parallel) {
    this.config = config;
    this.archive = archive;
    this.parallel = parallel;
  }

  private Path statusDirectory() {
    return config.postgres().dataDirectory().resolve("pg_wal").resolve("archive_status");
  }

  @Override
  public Future<?> start() {
    if (config.postgres().dataDirectory() == null) {
      return Future.failedFuture(new FlotillaException(ErrorCode.CONFIG, "config key postgres.data-directory: required by the agent's WAL service"));
    }
    timer = vertx.setPeriodic(0, SCAN_MS, id -> scan());
    watch();
    sweeper = vertx.setPeriodic(10_000, id -> vertx.executeBlocking(() -> {
      sweepMarkers();
      return null;
    }, false));
    LOG.info("host={} WAL service started: watching {} ({} in parallel)", config.host(), statusDirectory(), parallel);
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    vertx.cancelTimer(sweeper);
    java.nio.file.WatchService w = watcher;
    if (w != null) {
      try {
        w.close();
      } catch (java.io.IOException e) {
        // stopping anyway
      }
    }
    return Future.succeededFuture();
  }

  /**
   * Reacts to a new {@code .ready} file at once (inotify through a WatchService, on a thread of its
   * own), so a segment is being pushed by the time PostgreSQL calls archive_command for it; the
   * periodic scan stays as the level-triggered safety net.
   */
  private void watch() {
    io.vertx.core.Context ctx = context;
    Thread t = new Thread(() -> {
      try (java.nio.file.WatchService w = statusDirectory().getFileSystem().newWatchService()) {
        watcher = w;
        statusDirectory().register(w, java.nio.file.StandardWatchEventKinds.ENTRY_CREATE);
        while (true) {
          java.nio.file.WatchKey key = w.take();
          key.pollEvents();
          key.reset();
          ctx.runOnContext(v -> scan());
        }
      } catch (java.nio.file.ClosedWatchServiceException | InterruptedException e) {
        // stopped
      } catch (Exception e) {
        LOG.info("host={} WAL service: no file watch on {} ({}); scanning every {} ms", config.host(), statusDirectory(), e.getMessage(), SCAN_MS);
      }
    }, "flotilla-wal-watch");
    t.setDaemon(true);
    t.start();
  }

  private void scan() {
    if (scanning) {
      rescan = true;
      return;
    }
    if (inFlight.size() >= parallel) {
      return;
    }
    scanning = true;
    rescan = false;
    vertx.executeBlocking(this::readyFiles, false).onComplete(ar -> {
      scanning = false;
      if (rescan) {
        vertx.runOnContext(v -> scan());
      }
      if (ar.failed()) {
        report("cannot read " + statusDirectory() + ": " + ar.cause().getMessage());
        return;
      }
      for (String name : ar.result()) {
        if (inFlight.size() >= parallel) {
          break;
        }
        if (inFlight.add(name)) {
          Path file = config.postgres().dataDirectory().resolve("pg_wal").resolve(name);
          archive.push(file).onComplete(done -> {
            inFlight.remove(name);
            scan(); // a slot is free: take the next ready file now, not at the next tick
            if (done.failed()) {
              report("pushing " + name + " failed: " + done.cause().getMessage());
            } else {
              lastError = null;
            }
          });
        }
      }
    });
  }

  /** Files PostgreSQL has marked ready and that are not yet confirmed durable, oldest first (history files first). */
  private List<String> readyFiles() throws Exception {
    Path dir = statusDirectory();
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".ready"))
          .map(n -> n.substring(0, n.length() - ".ready".length()))
          .filter(n -> !inFlight.contains(n) && !archive.spool().isPushed(n))
          .filter(n -> Files.exists(config.postgres().dataDirectory().resolve("pg_wal").resolve(n)))
          .sorted((a, b) -> {
            boolean ha = a.endsWith(".history");
            boolean hb = b.endsWith(".history");
            return ha != hb ? (ha ? -1 : 1) : a.compareTo(b);
          })
          .limit(64)
          .toList();
    }
  }

  /**
   * Removes push markers PostgreSQL no longer needs: once its own archive_command has succeeded
   * ({@code .done}) or the file is gone from pg_wal. Keeping markers only for that short window also
   * keeps the launcher's fast path from vouching for files in a repository that has since changed.
   */
  private void sweepMarkers() throws java.io.IOException {
    Path markers = config.spoolDirectory().resolve("push-done");
    if (!Files.isDirectory(markers)) {
      return;
    }
    Path pgWal = config.postgres().dataDirectory().resolve("pg_wal");
    try (Stream<Path> s = Files.list(markers)) {
      for (Path marker : s.toList()) {
        String name = marker.getFileName().toString();
        if (name.startsWith(".")) {
          continue;
        }
        if (Files.exists(statusDirectory().resolve(name + ".done")) || !Files.exists(pgWal.resolve(name))) {
          Files.deleteIfExists(marker);
        }
      }
    }
  }

  private void report(String error) {
    if (!error.equals(lastError)) {
      LOG.warn("host={} WAL service: {} (retrying; PostgreSQL keeps the WAL until it is archived)", config.host(), error);
      lastError = error;
    }
  }

  /** For status: when the service last saw a failure, and what. */
  public String lastError() {
    return lastError;
  }
}
