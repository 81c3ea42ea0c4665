package io.flotilla.coordinator.schedule;

import io.flotilla.config.CoordinatorConfig.Policy;
import io.flotilla.coordinator.fleet.AgentGateway;
import io.flotilla.coordinator.fleet.Fleet;
import io.flotilla.coordinator.jobs.Jobs;
import io.flotilla.coordinator.leader.LeaderElection;
import io.flotilla.coordinator.policy.Policies;
import io.flotilla.protocol.Protocol;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns schedules into jobs, on the leader only. For every host and policy a cursor in the cluster
 * map records the last fire handled; a new leader reads the cursors and runs a fire that fell in the
 * gap once, late (several missed fires of one policy collapse into one run, as cron daemons'
 * catch-up does). Job ids are deterministic, so a fire dispatched twice is still one job, and the
 * agent refuses a second run of an id it has run. A periodic reconcile re-sends pending jobs to
 * agents that have come back, with the current epoch.
 */
public final class Scheduler extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(Scheduler.class);
  private static final String CURSORS = "flotilla.schedule.cursors";

  private final LeaderElection leader;
  private final Fleet fleet;
  private final Policies policies;
  private final Jobs jobs;
  private final AgentGateway gateway;
  private final long tickMillis;
  /** The leader's copy of the cursors (loaded on becoming leader). */
  private Map<String, Instant> cursors;
  private boolean busy;
  private long lastReconcile;

  public Scheduler(LeaderElection leader, Fleet fleet, Policies policies, Jobs jobs, AgentGateway gateway, long tickMillis) {
    this.leader = leader;
    this.fleet = fleet;
    this.policies = policies;
    this.jobs = jobs;
    this.gateway = gateway;
    this.tickMillis = tickMillis;
  }

  @Override
  public Future<?> start() {
    vertx.setPeriodic(tickMillis, id -> tick());
    return Future.succeededFuture();
  }

  private Future<AsyncMap<String, String>> map() {
    return vertx.sharedData().getAsyncMap(CURSORS);
  }

  private void tick() {
    if (!leader.isLeader()) {
      cursors = null;
      return;
    }
    if (busy) {
      return;
    }
    busy = true;
    long epoch = leader.epoch();
    Future<Void> loaded = cursors != null ? Future.succeededFuture() : map().compose(AsyncMap::entries).map(e -> {
      Map<String, Instant> c = new HashMap<>();
      e.forEach((k, v) -> c.put(k, Instant.parse(v)));
      cursors = c;
      LOG.info("member {}: scheduler active (epoch {}), {} schedule cursor(s) loaded", leader.memberName(), epoch, c.size());
      return null;
    });
    loaded.compose(v -> schedule(epoch)).compose(v -> reconcile(epoch)).onComplete(ar -> {
      busy = false;
      if (ar.failed()) {
        LOG.warn("member {}: scheduler step failed: {}", leader.memberName(), ar.cause().toString());
        cursors = null; // re-read: the map is the truth
      }
    });
  }

  private Future<Void> schedule(long epoch) {
    Instant now = Instant.now();
    List<Future<?>> work = new java.util.ArrayList<>();
    for (JsonObject h : fleet.hosts()) {
      String host = h.getString("host");
      for (Policy p : policies.forHost(host)) {
        if (p.schedule() == null) {
          continue;
        }
        String key = host + "/" + p.name();
        Instant cursor = cursors.get(key);
        if (cursor == null) {
          // A new host or policy starts from now; fires before it were nobody's to run.
          cursors.put(key, now);
          work.add(map().compose(m -> m.putIfAbsent(key, now.toString())));
          continue;
        }
        List<Instant> fires = p.schedule().firesBetween(cursor, now);
        if (fires.isEmpty()) {
          continue;
        }
        Instant fire = fires.get(fires.size() - 1);
        if (fires.size() > 1) {
          LOG.info("host {} policy {}: {} fires missed since {}; running the newest ({}) once", host, p.name(), fires.size(), cursor, fire);
        }
        cursors.put(key, fire);
        work.add(fire(host, p, fire, epoch).compose(v -> map().compose(m -> m.put(key, fire.toString()))));
      }
    }
    return Future.join(work).mapEmpty();
  }

  private Future<Void> fire(String host, Policy p, Instant fire, long epoch) {
    JsonObject job = assignment(host, p, Protocol.jobId(host, p.name(), fire), epoch).put("fireTime", fire.toString())
        .put("scheduled", true);
    return jobs.create(job).compose(created -> {
      if (!created.isNew() && !Jobs.PENDING.equals(created.job().getString("state"))) {
        return Future.succeededFuture();
      }
      if (created.isNew()) {
        LOG.info("host {} job {}: scheduled (epoch {})", host, job.getString("id"), epoch);
      }
      return dispatch(job);
    });
  }

  /** Sends an assignment; an agent that is not connected gets it from the reconcile when it returns. */
  public Future<Void> dispatch(JsonObject job) {
    // The term the epoch belongs to: this member's when it leads, the leader's when another member relays (on-demand).
    JsonObject msg = job.copy().put("type", Protocol.ASSIGN).put("jobId", job.getString("id"))
        .put("leader", job.getString("leader", leader.memberName()));
    msg.remove("id");
    msg.remove("state");
    return gateway.send(job.getString("host"), msg).recover(t -> {
      LOG.debug("host {} job {}: not delivered now ({}); kept pending", job.getString("host"), job.getString("id"), t.getMessage());
      return Future.succeededFuture();
    });
  }

  /** The assignment for {@code policy} on {@code host}. */
  public static JsonObject assignment(String host, Policy p, String jobId, long epoch) {
    JsonObject j = Policies.toJson(p);
    j.remove("name");
    j.remove("hosts");
    j.remove("schedule");
    j.remove("time-zone");
    j.remove("rpo");
    j.remove("rto");
    return j.put("id", jobId).put("host", host).put("policy", p.name()).put("epoch", epoch);
  }

  private Future<Void> reconcile(long epoch) {
    long now = System.currentTimeMillis();
    if (now - lastReconcile < 5000) {
      return Future.succeededFuture();
    }
    lastReconcile = now;
    return jobs.open(100_000).compose(open -> {
      List<Future<?>> sends = new java.util.ArrayList<>();
      for (JsonObject job : open) {
        Optional<JsonObject> h = fleet.host(job.getString("host"));
        if (h.isEmpty() || !h.get().getBoolean("connected", false)) {
          continue; // the agent gets it when it is back (or has run it from its cached schedule)
        }
        long quiet = now - job.getLong("updatedAt", 0L);
        String state = job.getString("state");
        // Pending: not delivered yet. Accepted/running without news for a minute: the agent may have
        // restarted and lost it; it answers "running" if it still has it, or its ledger's result.
        if ((Jobs.PENDING.equals(state) && quiet > 3000) || ((Jobs.ACCEPTED.equals(state) || Jobs.RUNNING.equals(state)) && quiet > 60_000)) {
          sends.add(dispatch(job.put("epoch", epoch).put("leader", leader.memberName())));
        }
      }
      return Future.join(sends).mapEmpty();
    });
  }
}
