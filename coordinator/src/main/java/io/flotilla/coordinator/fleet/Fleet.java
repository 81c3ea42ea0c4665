package io.flotilla.coordinator.fleet;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every host the cluster knows: registration, connection, latest heartbeat. Stored in a cluster map
 * (so any member answers for any host); each member reads from its own copy, so API reads never wait
 * on the cluster. A member writes through its own updates at once and publishes each on the event
 * bus, so the other members' copies follow within a message's latency; a periodic reconcile re-reads
 * the whole map in case a message was lost.
 *
 * <p>The reconcile is deliberately rare: it used to run every second, reading every entry (2 MB with
 * 2,000 hosts) through Hazelcast's partition threads, which heartbeat writes then queue behind, and
 * parsing them all on the event loop (40-240 ms). Without it the fleet benchmark's heartbeat ack p99
 * went from 89 to 67 ms and its max from 241 to 124 ms (docs/benchmarks.md, "Fleet (coordinator)").
 */
public final class Fleet {
  private static final Logger LOG = LoggerFactory.getLogger(Fleet.class);
  private static final String MAP = "flotilla.hosts";
  /** Event-bus address every member publishes its host-state writes on (the encoded state). */
  private static final String UPDATED = "flotilla.fleet.updated";
  private static final long RECONCILE_MS = 30_000;

  private static final String ORIGIN = "origin";

  private final Vertx vertx;
  /** Tells this member's own publications (which it has applied already) from the others'. */
  private final String origin = UUID.randomUUID().toString();
  private final Map<String, JsonObject> view = new ConcurrentHashMap<>();
  private boolean reconciling;

  public Fleet(Vertx vertx) {
    this.vertx = vertx;
  }

  public Future<Void> start() {
    vertx.eventBus().<String>consumer(UPDATED, m -> {
      if (!origin.equals(m.headers().get(ORIGIN))) {
        merge(new JsonObject(m.body()));
      }
    });
    return reconcile().onSuccess(v -> vertx.setPeriodic(RECONCILE_MS, id -> {
      if (!reconciling) {
        reconcile().onFailure(t -> LOG.warn("fleet: could not re-read the host map (will retry): {}", t.toString()));
      }
    }));
  }

  private Future<Void> reconcile() {
    reconciling = true;
    // Parsing thousands of states is too long for an event loop: do it where the map is read.
    return map().compose(AsyncMap::entries)
        .compose(entries -> vertx.executeBlocking(() -> {
          Map<String, JsonObject> parsed = new HashMap<>();
          entries.forEach((k, v) -> parsed.put(k, new JsonObject(v)));
          return parsed;
        }, false))
        .map(parsed -> {
          parsed.values().forEach(this::merge);
          return (Void) null;
        })
        .eventually(() -> {
          reconciling = false;
          return Future.succeededFuture();
        });
  }

  /** Keeps {@code state} unless this member already holds a newer one for the host. */
  private void merge(JsonObject state) {
    String host = state.getString("host");
    if (host != null) {
      view.merge(host, state, (mine, theirs) -> mine.getLong("updatedAt", 0L) > theirs.getLong("updatedAt", 0L) ? mine : theirs);
    }
  }

  public List<JsonObject> hosts() {
    return List.copyOf(new TreeMap<>(view).values());
  }

  public Optional<JsonObject> host(String name) {
    return Optional.ofNullable(view.get(name));
  }

  /** Applies {@code change} to the host's state (creating it) and stores the result. */
  public Future<JsonObject> update(String host, java.util.function.Consumer<JsonObject> change) {
    JsonObject state = host(host).map(JsonObject::copy).orElseGet(() -> new JsonObject().put("host", host));
    change.accept(state);
    state.put("updatedAt", System.currentTimeMillis());
    view.put(host, state);
    String encoded = state.encode();
    vertx.eventBus().publish(UPDATED, encoded, new DeliveryOptions().addHeader(ORIGIN, origin));
    return map().compose(m -> m.put(host, encoded)).map(state);
  }

  private Future<AsyncMap<String, String>> map() {
    return vertx.sharedData().getAsyncMap(MAP);
  }
}
