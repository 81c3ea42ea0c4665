package io.flotilla.coordinator.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.config.CoordinatorConfig;
import io.flotilla.config.CoordinatorConfig.Policy;
import io.flotilla.config.CoordinatorConfigLoader;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.retention.RetentionPolicy;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The policies in force, shared by the cluster. The config seeds them (a member adds the ones the
 * cluster does not know yet); the API edits them. Each member keeps a copy refreshed every second,
 * so reads never wait on the cluster.
 */
public final class Policies {
  private static final String MAP = "flotilla.policies";
  private static final String DELETED = "deleted";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Vertx vertx;
  private final Set<String> repositories;
  private volatile Map<String, Policy> current = Map.of();

  public Policies(Vertx vertx, CoordinatorConfig config) {
    this.vertx = vertx;
    this.repositories = Set.copyOf(config.repositories().stream().map(r -> r.name()).toList());
    Map<String, Policy> seed = new TreeMap<>();
    config.policies().forEach(p -> seed.put(p.name(), p));
    this.current = seed;
  }

  /** Seeds the cluster with the config's policies and starts the refresh. */
  public Future<Void> start(List<Policy> fromConfig) {
    return map().compose(m -> {
      List<Future<?>> puts = new ArrayList<>();
      for (Policy p : fromConfig) {
        puts.add(m.putIfAbsent(p.name(), toJson(p).encode()));
      }
      return Future.all(puts);
    }).compose(v -> refresh()).onSuccess(v -> vertx.setPeriodic(1000, id -> refresh()));
  }

  public Future<Void> refresh() {
    return map().compose(AsyncMap::entries).map(entries -> {
      Map<String, Policy> next = new TreeMap<>();
      entries.forEach((name, raw) -> {
        if (!DELETED.equals(raw)) {
          next.put(name, parse(new JsonObject(raw)));
        }
      });
      current = next;
      return null;
    });
  }

  public List<Policy> all() {
    return List.copyOf(current.values());
  }

  public Optional<Policy> get(String name) {
    return Optional.ofNullable(current.get(name));
  }

  /** Policies whose host globs match {@code host}. */
  public List<Policy> forHost(String host) {
    List<Policy> out = new ArrayList<>();
    for (Policy p : current.values()) {
      if (matches(p, host)) {
        out.add(p);
      }
    }
    return out;
  }

  public static boolean matches(Policy p, String host) {
    return p.hosts().stream().anyMatch(g -> glob(g, host));
  }

  private static final Map<String, java.nio.file.PathMatcher> MATCHERS = new java.util.concurrent.ConcurrentHashMap<>();

  /** Shell-style glob match of a host name ({@code db-*}, {@code db-?1}, {@code db-{eu,us}-*}). */
  public static boolean glob(String glob, String name) {
    return MATCHERS.computeIfAbsent(glob, g -> FileSystems.getDefault().getPathMatcher("glob:" + g)).matches(Path.of(name));
  }

  /** Validates and stores {@code json} as policy {@code name}; a 400 names the bad key. */
  public Future<Policy> put(String name, JsonObject json) {
    JsonObject body = json.copy();
    if (body.containsKey("name") && !name.equals(body.getString("name"))) {
      return Future.failedFuture(new FlotillaException(ErrorCode.USAGE, "policy name in the body ('" + body.getString("name")
          + "') differs from the one in the path ('" + name + "')"));
    }
    body.put("name", name);
    Policy p;
    try {
      p = parse(body);
    } catch (FlotillaException e) {
      return Future.failedFuture(e);
    }
    return map().compose(m -> m.put(name, toJson(p).encode())).compose(v -> refresh()).map(p);
  }

  public Future<Boolean> delete(String name) {
    if (!current.containsKey(name)) {
      return Future.succeededFuture(false);
    }
    // A marker rather than a removal, so a member restarting with the old config does not bring it back.
    return map().compose(m -> m.put(name, DELETED)).compose(v -> refresh()).map(true);
  }

  private Policy parse(JsonObject json) {
    try {
      JsonNode node = JSON.readTree(json.encode());
      return CoordinatorConfigLoader.policy(node, repositories);
    } catch (java.io.IOException e) {
      throw new FlotillaException(ErrorCode.USAGE, "policy is not valid JSON: " + e.getMessage());
    }
  }

  private Future<AsyncMap<String, String>> map() {
    return vertx.sharedData().getAsyncMap(MAP);
  }

  /** The policy as the API shows it (and as it is stored): the same keys as the YAML config. */
  public static JsonObject toJson(Policy p) {
    JsonObject j = new JsonObject().put("name", p.name()).put("hosts", new JsonArray(p.hosts())).put("kind", p.kind())
        .put("label", p.label());
    if (p.schedule() != null) {
      j.put("schedule", p.schedule().expression()).put("time-zone", p.schedule().zone().getId());
    }
    if ("logical".equals(p.kind())) {
      if (p.all()) {
        j.put("all", true);
      } else {
        j.put("databases", new JsonArray(p.databases()));
      }
    } else if ("volume".equals(p.kind())) {
      if (p.all()) {
        j.put("all", true);
      } else {
        j.put("volumes", new JsonArray(p.volumes()));
      }
      if (p.incremental()) {
        j.put("incremental", true);
      }
    }
    if (p.repository() != null) {
      j.put("repository", p.repository());
    }
    RetentionPolicy r = p.retention();
    if (!r.keepsEverything()) {
      Map<String, Object> rj = new LinkedHashMap<>();
      put(rj, "keep-last", r.last());
      put(rj, "keep-daily", r.daily());
      put(rj, "keep-weekly", r.weekly());
      put(rj, "keep-monthly", r.monthly());
      put(rj, "keep-yearly", r.yearly());
      put(rj, "recovery-window-days", r.windowDays());
      j.put("retention", new JsonObject(rj));
    }
    if (p.rpo() != null) {
      j.put("rpo", p.rpo().toSeconds() + "s");
    }
    if (p.rto() != null) {
      j.put("rto", p.rto().toSeconds() + "s");
    }
    return j;
  }

  private static void put(Map<String, Object> m, String k, int v) {
    if (v > 0) {
      m.put(k, v);
    }
  }
}
