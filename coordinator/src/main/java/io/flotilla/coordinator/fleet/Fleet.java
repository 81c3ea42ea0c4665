package io.flotilla.coordinator.fleet;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every host the cluster knows: registration, connection, latest heartbeat. Stored in a cluster map
 * (so any member answers for any host); each member reads from a copy refreshed every second, so
 * API reads never wait on the cluster, and writes through its own updates at once.
 */
public final class Fleet {
  private static final String MAP = "flotilla.hosts";

  private final Vertx vertx;
  private final Map<String, JsonObject> local = new ConcurrentHashMap<>();
  private volatile Map<String, JsonObject> snapshot = Map.of();

  public Fleet(Vertx vertx) {
    this.vertx = vertx;
  }

  public Future<Void> start() {
    return refresh().onSuccess(v -> vertx.setPeriodic(1000, id -> refresh()));
  }

  private Future<Void> refresh() {
    return map().compose(AsyncMap::entries).map(entries -> {
      Map<String, JsonObject> next = new TreeMap<>();
      entries.forEach((k, v) -> next.put(k, new JsonObject(v)));
      // This member's own writes are newer than what it may have read back.
      local.forEach((k, v) -> {
        JsonObject remote = next.get(k);
        if (remote == null || remote.getLong("updatedAt", 0L) <= v.getLong("updatedAt", 0L)) {
          next.put(k, v);
        }
      });
      local.clear();
      snapshot = next;
      return null;
    });
  }

  public List<JsonObject> hosts() {
    Map<String, JsonObject> view = new TreeMap<>(snapshot);
    view.putAll(local);
    return List.copyOf(view.values());
  }

  public Optional<JsonObject> host(String name) {
    JsonObject l = local.get(name);
    return Optional.ofNullable(l != null ? l : snapshot.get(name));
  }

  /** Applies {@code change} to the host's state (creating it) and stores the result. */
  public Future<JsonObject> update(String host, java.util.function.Consumer<JsonObject> change) {
    JsonObject state = host(host).map(JsonObject::copy).orElseGet(() -> new JsonObject().put("host", host));
    change.accept(state);
    state.put("updatedAt", System.currentTimeMillis());
    local.put(host, state);
    return map().compose(m -> m.put(host, state.encode())).map(state);
  }

  private Future<AsyncMap<String, String>> map() {
    return vertx.sharedData().getAsyncMap(MAP);
  }
}
