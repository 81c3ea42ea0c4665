package io.flotilla.coordinator.jobs;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Jobs by deterministic id, in a cluster map: {@code host/policy/fire-time} for scheduled fires, so
 * a second leader (or the agent running its cached schedule) computes the same id and the job is
 * created once. Entries live 30 days.
 */
public final class Jobs {
  private static final String MAP = "flotilla.jobs";
  /** Ids of jobs not finished yet (pending, accepted, running) → host: what the reconcile looks at. */
  private static final String OPEN = "flotilla.jobs.open";
  private static final long TTL = TimeUnit.DAYS.toMillis(30);

  public static final String PENDING = "pending";
  public static final String ACCEPTED = "accepted";
  public static final String RUNNING = "running";
  public static final String SUCCEEDED = "succeeded";
  public static final String FAILED = "failed";
  public static final String REFUSED = "refused";

  /** Set on what {@link #report} returns (never stored): whether the report changed the job's state. */
  public static final String CHANGED = "stateChanged";

  private final Vertx vertx;

  public Jobs(Vertx vertx) {
    this.vertx = vertx;
  }

  /** Stores {@code job} unless a job with its id exists; returns the stored job and whether it is new. */
  public Future<Created> create(JsonObject job) {
    long now = System.currentTimeMillis();
    job.put("state", PENDING).put("createdAt", java.time.Instant.ofEpochMilli(now).toString()).put("updatedAt", now);
    return map().compose(m -> m.putIfAbsent(job.getString("id"), job.encode(), TTL)).compose(prev -> prev != null
        ? Future.succeededFuture(new Created(new JsonObject(prev), false))
        : open().compose(o -> o.put(job.getString("id"), job.getString("host"), TTL)).map(new Created(job, true)));
  }

  public record Created(JsonObject job, boolean isNew) {}

  public Future<JsonObject> get(String id) {
    return map().compose(m -> m.get(id)).map(s -> s == null ? null : new JsonObject(s));
  }

  /**
   * Merges an agent's report into the job (creating it when the agent ran it alone). A finished job
   * never goes back to running.
   */
  public Future<JsonObject> report(JsonObject report) {
    String id = report.getString("jobId");
    return map().compose(m -> m.get(id).compose(prev -> {
      JsonObject job = prev == null ? new JsonObject().put("id", id).put("createdAt", java.time.Instant.now().toString())
          : new JsonObject(prev);
      String old = job.getString("state", PENDING);
      String next = report.getString("state");
      if (REFUSED.equals(next)) {
        // A refusal is about the sender (an older leader's epoch), not the job: it stays open for the
        // current leader to send again.
        job.put("lastRefusal", report.getString("error")).put("updatedAt", System.currentTimeMillis());
        return m.put(id, job.encode(), TTL).map(v -> job.copy().put(CHANGED, false));
      }
      boolean finished = SUCCEEDED.equals(old) || FAILED.equals(old);
      for (String k : List.of("host", "kind", "policy", "fireTime", "backupId", "error", "plainBytes", "storedBytes", "seconds",
          "startedAt", "finishedAt", "autonomous", "epoch", "duplicate", "expired", "kept", "walRemoved")) {
        if (report.containsKey(k) && report.getValue(k) != null && !(finished && !isFinal(next))) {
          job.put(k, report.getValue(k));
        }
      }
      if (!(finished && !isFinal(next))) {
        job.put("state", next);
      }
      job.put("updatedAt", System.currentTimeMillis());
      boolean changed = !old.equals(job.getString("state")) || prev == null;
      Future<Void> openSet = isFinal(job.getString("state"))
          ? open().compose(o -> o.remove(id)).mapEmpty() : Future.succeededFuture();
      return m.put(id, job.encode(), TTL).compose(v -> openSet).map(v -> job.copy().put(CHANGED, changed));
    }));
  }

  private static boolean isFinal(String state) {
    return SUCCEEDED.equals(state) || FAILED.equals(state);
  }

  /** Jobs, newest first, optionally of one host and/or in one state. */
  public Future<List<JsonObject>> list(String host, String state, int limit) {
    return map().compose(AsyncMap::values).map(values -> {
      List<JsonObject> out = new ArrayList<>();
      for (String v : values) {
        JsonObject j = new JsonObject(v);
        if ((host == null || host.equals(j.getString("host"))) && (state == null || state.equals(j.getString("state")))) {
          out.add(j);
        }
      }
      out.sort(Comparator.comparing((JsonObject j) -> j.getString("createdAt", "")).reversed());
      return out.size() > limit ? out.subList(0, limit) : out;
    });
  }

  /** Jobs not finished yet, oldest first. */
  public Future<List<JsonObject>> open(int limit) {
    return open().compose(AsyncMap::keys).compose(ids -> {
      List<Future<JsonObject>> reads = new ArrayList<>();
      ids.stream().limit(limit).forEach(id -> reads.add(get(id)));
      return Future.join(reads).map(cf -> {
        List<JsonObject> out = new ArrayList<>();
        reads.stream().filter(f -> f.succeeded() && f.result() != null).forEach(f -> out.add(f.result()));
        out.sort(Comparator.comparing((JsonObject j) -> j.getString("createdAt", "")));
        return out;
      });
    });
  }

  private Future<AsyncMap<String, String>> open() {
    return vertx.sharedData().getAsyncMap(OPEN);
  }

  private Future<AsyncMap<String, String>> map() {
    return vertx.sharedData().getAsyncMap(MAP);
  }
}
