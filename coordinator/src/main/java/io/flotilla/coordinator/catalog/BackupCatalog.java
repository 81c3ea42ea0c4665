package io.flotilla.coordinator.catalog;

import io.flotilla.config.RepositoryConfig;
import io.flotilla.manifest.Manifest;
import io.flotilla.manifest.Manifests;
import io.flotilla.repo.Repository;
import io.flotilla.repo.Storage;
import io.flotilla.repo.StoredObject;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backup history and restore measurements per host, read back from the repositories' manifests
 * (the source of truth), so a coordinator rebuilt from nothing knows every backup. Manifests never
 * change, so each is read once; listings are re-read periodically, and a host's own listing whenever
 * one of its jobs finishes.
 * Backups that agents report before a scan sees them are shown too.
 */
public final class BackupCatalog {
  private static final Logger LOG = LoggerFactory.getLogger(BackupCatalog.class);
  private static final Pattern MANIFEST = Pattern.compile("hosts/([^/]+)/backups/([^/]+)/manifest\\.json");
  private static final Pattern DRILL = Pattern.compile("hosts/([^/]+)/drills/([^/]+)\\.json");
  public static final String CHANGED = "flotilla.catalog.changed";

  private final Vertx vertx;
  private final Context context;
  private final List<RepositoryConfig> repositories;
  private final Map<String, JsonObject> manifestCache = new ConcurrentHashMap<>();
  private final Map<String, JsonObject> drillCache = new ConcurrentHashMap<>();
  private final Map<String, JsonObject> reported = new ConcurrentHashMap<>();
  private volatile Map<String, List<JsonObject>> backups = Map.of();
  private volatile Map<String, JsonObject> drills = Map.of();
  private boolean scanning;
  /** Hosts to re-read once the running scan ends ("" for all). */
  private final Set<String> pending = new java.util.LinkedHashSet<>();

  public BackupCatalog(Vertx vertx, Context context, List<RepositoryConfig> repositories) {
    this.vertx = vertx;
    this.context = context;
    this.repositories = repositories;
  }

  public Future<Void> start(long refreshMillis) {
    vertx.eventBus().<JsonObject>consumer(CHANGED, m -> {
      if (m.body().getString("backupId") != null) {
        reported.putIfAbsent(m.body().getString("backupId"), m.body());
      }
      // Only the host whose job finished: its own prefix, not every repository's whole listing.
      scan(m.body().getString("host"));
    });
    vertx.setPeriodic(refreshMillis, id -> scan());
    return scan();
  }

  /** Re-reads every repository's listing. */
  public Future<Void> scan() {
    return scan(null);
  }

  /** Re-reads the listing of {@code host} (null: every host); one scan at a time, later requests queued. */
  private Future<Void> scan(String host) {
    if (scanning) {
      pending.add(host == null ? "" : host);
      return Future.succeededFuture();
    }
    scanning = true;
    List<Future<List<JsonObject>>> reads = new ArrayList<>();
    for (RepositoryConfig rc : repositories) {
      reads.add(scan(rc, host == null ? "hosts/" : "hosts/" + host + "/"));
    }
    return Future.join(reads).map(cf -> {
      Map<String, List<JsonObject>> byHost = new HashMap<>();
      Map<String, JsonObject> newestDrill = new HashMap<>();
      if (host != null) {
        byHost.putAll(backups);
        byHost.remove(host);
        newestDrill.putAll(drills);
        newestDrill.remove(host);
      }
      Set<String> seen = new TreeSet<>();
      for (int i = 0; i < reads.size(); i++) {
        if (reads.get(i).failed()) {
          LOG.warn("repository {}: could not read backup history: {}", repositories.get(i).name(), reads.get(i).cause().getMessage());
          continue;
        }
        for (JsonObject o : reads.get(i).result()) {
          if (o.containsKey("seconds")) {
            JsonObject prev = newestDrill.get(o.getString("host"));
            if (prev == null || o.getString("finishedAt", "").compareTo(prev.getString("finishedAt", "")) > 0) {
              newestDrill.put(o.getString("host"), o);
            }
          } else {
            byHost.computeIfAbsent(o.getString("host"), h -> new ArrayList<>()).add(o);
            seen.add(o.getString("id"));
          }
        }
      }
      for (JsonObject r : reported.values()) {
        if (host != null && !host.equals(r.getString("host"))) {
          continue;
        }
        if (!seen.contains(r.getString("backupId"))) {
          byHost.computeIfAbsent(r.getString("host"), h -> new ArrayList<>()).add(new JsonObject().put("id", r.getString("backupId"))
              .put("host", r.getString("host")).put("kind", r.getString("kind")).put("finishedAt", r.getString("finishedAt"))
              .put("plainBytes", r.getLong("plainBytes")).put("storedBytes", r.getLong("storedBytes"))
              .put("seconds", r.getDouble("seconds")).put("source", "agent report"));
        } else {
          reported.remove(r.getString("backupId"));
        }
      }
      // Lists already published (other hosts' on a host scan) are never touched: readers may be iterating them.
      byHost.forEach((h, l) -> {
        if (host == null || host.equals(h)) {
          l.sort(Comparator.comparing((JsonObject j) -> j.getString("finishedAt", "")).reversed());
        }
      });
      backups = byHost;
      drills = newestDrill;
      return (Void) null;
    }).eventually(() -> {
      scanning = false;
      if (!pending.isEmpty()) {
        String next = pending.contains("") ? null : pending.iterator().next();
        if (next == null) {
          pending.clear();
        } else {
          pending.remove(next);
        }
        scan(next);
      }
      return Future.succeededFuture();
    });
  }

  private Future<List<JsonObject>> scan(RepositoryConfig rc, String prefix) {
    Storage storage = Repository.storage(vertx, context, rc);
    return storage.list(prefix).compose(objects -> {
      List<Future<JsonObject>> reads = new ArrayList<>();
      for (StoredObject o : objects) {
        Matcher m = MANIFEST.matcher(o.key());
        Matcher d = DRILL.matcher(o.key());
        String cacheKey = rc.name() + ":" + o.key();
        if (m.matches()) {
          JsonObject cached = manifestCache.get(cacheKey);
          reads.add(cached != null ? Future.succeededFuture(cached) : storage.getBytes(o.key()).map(b -> {
            JsonObject s = summary(Manifests.fromJson(b, Manifest.class, o.key()), rc.name());
            manifestCache.put(cacheKey, s);
            return s;
          }));
        } else if (d.matches()) {
          JsonObject cached = drillCache.get(cacheKey);
          reads.add(cached != null ? Future.succeededFuture(cached) : storage.getBytes(o.key()).map(b -> {
            JsonObject s = new JsonObject(b).put("host", d.group(1)).put("repository", rc.name());
            drillCache.put(cacheKey, s);
            return s;
          }));
        }
      }
      return Future.join(reads).map(cf -> {
        List<JsonObject> out = new ArrayList<>();
        reads.stream().filter(Future::succeeded).forEach(f -> out.add(f.result()));
        return out;
      });
    }).eventually(storage::close);
  }

  private static JsonObject summary(Manifest m, String repository) {
    JsonObject j = new JsonObject().put("id", m.backupId()).put("host", m.host()).put("kind", m.kind()).put("label", m.label())
        .put("startedAt", m.startedAt()).put("finishedAt", m.finishedAt()).put("plainBytes", m.plainBytes())
        .put("storedBytes", m.storedBytes()).put("durationSeconds", m.duration().toMillis() / 1000.0).put("repository", repository)
        .put("postgresVersion", m.postgresVersion());
    if (m.databases() != null && !m.databases().isEmpty()) {
      JsonArray dbs = new JsonArray();
      m.databases().forEach(d -> dbs.add(d.name()));
      j.put("databases", dbs);
    }
    if (m.physical() != null) {
      j.put("startWal", m.physical().startWal()).put("stopWal", m.physical().stopWal()).put("timeline", m.physical().timeline());
    }
    return j;
  }

  /** Complete backups of {@code host}, newest first. */
  public List<JsonObject> backups(String host) {
    return backups.getOrDefault(host, List.of());
  }

  public Set<String> hosts() {
    return new TreeSet<>(backups.keySet());
  }

  /** The newest restore measured through Flotilla for {@code host}. */
  public Optional<JsonObject> newestDrill(String host) {
    return Optional.ofNullable(drills.get(host));
  }
}
