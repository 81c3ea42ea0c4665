package io.flotilla.coordinator.notify;

import io.flotilla.config.CoordinatorConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Collection;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Something an operator should hear about: a failed job, a missed RPO or RTO, a recovery.
 *
 * @param event one of {@link CoordinatorConfig#EVENTS}
 * @param host the database host it concerns
 * @param jobId the job it concerns (null: none, e.g. an RPO missed because no job ran)
 * @param policy the policy it concerns (null: none)
 * @param message one human-readable line
 * @param details machine-readable facts (JSON-compatible values; others are sent as their string form)
 * @param at when it happened
 */
public record Notification(String event, String host, String jobId, String policy, String message, Map<String, Object> details,
    Instant at) {

  public Notification {
    Objects.requireNonNull(event, "event");
    if (!CoordinatorConfig.EVENTS.contains(event)) {
      throw new IllegalArgumentException("unknown event '" + event + "' (known: " + String.join(", ", CoordinatorConfig.EVENTS) + ")");
    }
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(at, "at");
    // One line: channels such as Slack and mail subjects are line-oriented.
    message = Objects.requireNonNull(message, "message").replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
    details = details == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(details));
  }

  /**
   * A stable identifier for receivers to de-duplicate retried deliveries: the same event, host, job
   * and time always give the same id (hex, 32 characters).
   */
  public String id() {
    String key = event + '\n' + host + '\n' + (jobId == null ? "" : jobId) + '\n' + at;
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }

  /** The webhook payload: {@code id, event, host, jobId, policy, message, details, at} (at in ISO-8601 UTC). */
  public JsonObject toJson() {
    return new JsonObject()
        .put("id", id())
        .put("event", event)
        .put("host", host)
        .put("jobId", jobId)
        .put("policy", policy)
        .put("message", message)
        .put("details", jsonObject(details))
        .put("at", at.toString());
  }

  private static JsonObject jsonObject(Map<?, ?> map) {
    JsonObject json = new JsonObject();
    map.forEach((k, v) -> json.put(String.valueOf(k), jsonValue(v)));
    return json;
  }

  private static Object jsonValue(Object v) {
    if (v == null || v instanceof String || v instanceof Number || v instanceof Boolean) {
      return v;
    }
    if (v instanceof Map<?, ?> m) {
      return jsonObject(m);
    }
    if (v instanceof Collection<?> c) {
      JsonArray array = new JsonArray();
      c.forEach(e -> array.add(jsonValue(e)));
      return array;
    }
    return v.toString();
  }
}
