package io.flotilla.agent.replication;

import io.flotilla.config.HostConfig;
import io.flotilla.config.RepositoryConfig;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps every replica caught up: one loop per replica, a pass every {@code interval}, or without one
 * continuously (again after 1 s while there is work, backing off to a minute while idle). Failures
 * back off from 5 s to 5 min. Passes are asynchronous end to end; nothing here blocks.
 */
public final class ReplicationVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(ReplicationVerticle.class);
  static final Duration BUSY = Duration.ofSeconds(1);
  static final Duration IDLE_MIN = Duration.ofSeconds(5);
  static final Duration IDLE_MAX = Duration.ofMinutes(1);
  static final Duration FAIL_MAX = Duration.ofMinutes(5);

  private final HostConfig config;
  private final List<RepositoryConfig> replicas;
  private final ReplicationStatus status;
  private final Map<String, Long> timers = new HashMap<>();
  private final Map<String, Duration> backoff = new HashMap<>();
  private Replication replication;
  private boolean stopped;

  public ReplicationVerticle(HostConfig config, List<RepositoryConfig> replicas, ReplicationStatus status) {
    this.config = config;
    this.replicas = replicas;
    this.status = status;
  }

  @Override
  public Future<?> start() {
    replication = new Replication(vertx, context, config);
    for (RepositoryConfig rc : replicas) {
      LOG.info("host={} replicating {} -> {} {}", config.host(), rc.replicateFrom(), rc.name(),
          rc.interval() == null ? "continuously" : "every " + rc.interval());
      schedule(rc, Duration.ZERO);
    }
    return Future.succeededFuture();
  }

  private void schedule(RepositoryConfig rc, Duration delay) {
    if (stopped) {
      return;
    }
    timers.put(rc.name(), vertx.setTimer(Math.max(1, delay.toMillis()), id -> pass(rc)));
  }

  private void pass(RepositoryConfig rc) {
    replication.once(rc).onComplete(ar -> {
      Duration next;
      if (ar.succeeded()) {
        status.record(ar.result());
        boolean clean = ar.result().failures().isEmpty();
        next = clean ? nextAfterSuccess(rc, ar.result().copiedObjects() > 0) : failed(rc);
      } else {
        LOG.warn("host={} replication {} -> {} failed: {}", config.host(), rc.replicateFrom(), rc.name(), ar.cause().getMessage());
        status.recordError(rc.name(), rc.replicateFrom(), ar.cause());
        next = failed(rc);
      }
      schedule(rc, next);
    });
  }

  private Duration nextAfterSuccess(RepositoryConfig rc, boolean copied) {
    if (rc.interval() != null) {
      backoff.remove(rc.name());
      return rc.interval();
    }
    if (copied) {
      backoff.put(rc.name(), IDLE_MIN);
      return BUSY;
    }
    Duration d = min(backoff.getOrDefault(rc.name(), IDLE_MIN), IDLE_MAX);
    backoff.put(rc.name(), min(d.multipliedBy(2), IDLE_MAX));
    return d;
  }

  private Duration failed(RepositoryConfig rc) {
    Duration d = backoff.getOrDefault(rc.name(), IDLE_MIN);
    backoff.put(rc.name(), min(d.multipliedBy(2), FAIL_MAX));
    return rc.interval() != null ? min(d, rc.interval()) : d;
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    timers.values().forEach(vertx::cancelTimer);
    return Future.succeededFuture();
  }
}
