package io.flotilla.agent.replication;

import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The outcome of the daemon's latest replication pass per replica, kept in memory so a heartbeat
 * can report lag without listing any repository. Written on the event loop, read by the probe's
 * worker thread.
 */
public final class ReplicationStatus {
  private final Map<String, JsonObject> last = new ConcurrentHashMap<>();

  void record(Replicator.Result r) {
    boolean synced = r.failures().isEmpty();
    JsonObject previous = last.get(r.replica());
    String syncedTo = synced ? r.started().toString() : previous == null ? null : previous.getString("syncedTo");
    JsonObject j = new JsonObject().put("source", r.source()).put("lastPassAt", r.started().toString())
        .put("objectsBehind", r.objectsBehind()).put("bytesBehind", r.bytesBehind()).put("syncedTo", syncedTo)
        .put("lagSeconds", r.objectsBehind() == 0 ? Long.valueOf(0) : syncedTo == null ? null
            : java.time.Duration.between(Instant.parse(syncedTo), Instant.now()).toSeconds())
        .put("copiedObjects", r.copiedObjects()).put("failures", r.failures().size());
    if (!r.failures().isEmpty()) {
      j.put("lastError", r.failures().get(0).line());
    }
    last.put(r.replica(), j);
  }

  void recordError(String replica, String source, Throwable t) {
    JsonObject previous = last.get(replica);
    JsonObject j = previous == null ? new JsonObject().put("source", source) : previous.copy();
    last.put(replica, j.put("lastPassAt", Instant.now().toString()).put("lastError", String.valueOf(t.getMessage())));
  }

  /** {replica name: lag}, for the heartbeat; empty when nothing has run yet. */
  public JsonObject toJson() {
    JsonObject out = new JsonObject();
    last.forEach((k, v) -> out.put(k, v.copy()));
    return out;
  }
}
