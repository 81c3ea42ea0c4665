package io.flotilla.agent.replication;

import io.flotilla.config.HostConfig;
import io.flotilla.config.RepositoryConfig;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.repo.Repository;
import io.flotilla.repo.RepositoryDescriptor;
import io.flotilla.repo.Storage;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Replication of this host's data into every repository that declares {@code replicate-from}:
 * opening each source and replica pair (the replica gets the source's descriptor when it has none,
 * so the same passphrase opens both), one verified pass, and the lag, measured by listing both sides.
 */
public final class Replication {
  /** Where a replica records how far it has caught up (not itself replicated). */
  static String markerKey(String host) {
    return "hosts/" + host + "/replica.json";
  }

  private final Vertx vertx;
  private final Context context;
  private final HostConfig config;

  public Replication(Vertx vertx, Context context, HostConfig config) {
    this.vertx = vertx;
    this.context = context;
    this.config = config;
  }

  /**
   * How far one replica is behind its source.
   *
   * @param syncedTo the last time the replica held everything its source held (null: never)
   * @param lagSeconds 0 when nothing is missing, otherwise seconds since {@code syncedTo} (null: never synced)
   */
  public record Lag(String replica, String source, long objectsBehind, long bytesBehind, Instant syncedTo, Long lagSeconds) {
    public JsonObject toJson() {
      return new JsonObject().put("replica", replica).put("source", source).put("objectsBehind", objectsBehind).put("bytesBehind", bytesBehind)
          .put("syncedTo", syncedTo == null ? null : syncedTo.toString()).put("lagSeconds", lagSeconds);
    }
  }

  /** The replicas in the config, or just {@code only}, which must be one. */
  public List<RepositoryConfig> replicas(String only) {
    List<RepositoryConfig> all = config.repositories().stream().filter(RepositoryConfig::isReplica).toList();
    if (only == null) {
      return all;
    }
    RepositoryConfig r = config.repository(only).orElseThrow(() -> new FlotillaException(ErrorCode.USAGE, "--to: no repository named '" + only
        + "' in the config (replicas: " + names(all) + ")"));
    if (!r.isReplica()) {
      throw new FlotillaException(ErrorCode.USAGE, "--to: repository '" + only + "' has no replicate-from (replicas: " + names(all) + ")");
    }
    return List.of(r);
  }

  private static String names(List<RepositoryConfig> rs) {
    return rs.isEmpty() ? "none" : String.join(", ", rs.stream().map(RepositoryConfig::name).toList());
  }

  /** One verified pass from the replica's source into it. */
  public Future<Replicator.Result> once(RepositoryConfig replicaConfig) {
    return withPair(replicaConfig, (source, replica) -> new Replicator(source, replica, config.host()).run()
        .compose(r -> r.failures().isEmpty() && markerDue(replicaConfig, r) ? writeMarker(replica, r).map(r) : Future.succeededFuture(r)));
  }

  /** The replica's lag, by listing both sides now. */
  public Future<Lag> lag(RepositoryConfig replicaConfig) {
    return withPair(replicaConfig, (source, replica) -> new Replicator(source, replica, config.host()).plan()
        .compose(plan -> readMarker(replica).map(synced -> {
          Instant now = Instant.now();
          Long seconds = plan.objectsBehind() == 0 ? Long.valueOf(0) : synced == null ? null : Duration.between(synced, now).toSeconds();
          return new Lag(replica.name(), source.name(), plan.objectsBehind(), plan.bytesBehind(), plan.objectsBehind() == 0 ? now : synced, seconds);
        })));
  }

  private interface PairWork<T> {
    Future<T> run(Repository source, Repository replica);
  }

  private <T> Future<T> withPair(RepositoryConfig replicaConfig, PairWork<T> work) {
    RepositoryConfig sourceConfig = config.repository(replicaConfig.replicateFrom()).orElseThrow();
    return Repository.open(vertx, context, sourceConfig, config.encryption(), false)
        .compose(source -> openReplica(source, replicaConfig)
            .compose(replica -> work.run(source, replica).eventually(replica::close))
            .eventually(source::close));
  }

  /** Opens the replica, giving it the source's descriptor first when it has none; the passphrase check then applies as usual. */
  private Future<Repository> openReplica(Repository source, RepositoryConfig rc) {
    Storage storage;
    try {
      storage = Repository.storage(vertx, context, rc);
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
    return storage.stat(RepositoryDescriptor.KEY).<Void>mapEmpty().recover(t -> {
      if (t instanceof FlotillaException fe && fe.code() == ErrorCode.NOT_FOUND) {
        return source.storage().getBytes(RepositoryDescriptor.KEY).compose(b -> storage.putBytes(RepositoryDescriptor.KEY, b)).mapEmpty();
      }
      return Future.failedFuture(t);
    }).eventually(storage::close).compose(v -> Repository.open(vertx, context, rc, config.encryption(), false));
  }

  private final java.util.Map<String, Instant> markersWritten = new java.util.concurrent.ConcurrentHashMap<>();

  /** A pass that copied something records it; an idle pass refreshes the record once a minute, not on every loop. */
  private boolean markerDue(RepositoryConfig rc, Replicator.Result r) {
    Instant last = markersWritten.get(rc.name());
    if (r.copiedObjects() > 0 || last == null || last.isBefore(r.started().minusSeconds(60))) {
      markersWritten.put(rc.name(), r.started());
      return true;
    }
    return false;
  }

  private Future<Void> writeMarker(Repository replica, Replicator.Result r) {
    JsonObject m = new JsonObject().put("host", r.host()).put("source", r.source()).put("syncedTo", r.started().toString());
    return replica.storage().putBytes(markerKey(config.host()), Buffer.buffer(m.encodePrettily())).mapEmpty();
  }

  private Future<Instant> readMarker(Repository replica) {
    return replica.storage().getBytes(markerKey(config.host()))
        .map(b -> Instant.parse(new JsonObject(b).getString("syncedTo")))
        .otherwise((Instant) null);
  }
}
