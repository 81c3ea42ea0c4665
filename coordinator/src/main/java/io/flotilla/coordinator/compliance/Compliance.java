package io.flotilla.coordinator.compliance;

import io.flotilla.config.CoordinatorConfig.Policy;
import io.flotilla.coordinator.catalog.BackupCatalog;
import io.flotilla.coordinator.fleet.Fleet;
import io.flotilla.coordinator.policy.Policies;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * RPO and RTO of every host, computed here from what the coordinator observed (backups in the
 * repositories, the agent's raw WAL positions, restores measured through Flotilla), never taken from
 * an agent's own verdict.
 *
 * <ul>
 *   <li>RPO with WAL archiving and a physical backup: 0 while everything PostgreSQL has written is in
 *       archived segments; otherwise the time since the coordinator first saw WAL beyond the end of
 *       the newest archived segment. If the agent stopped reporting, that is counted from its last
 *       report. Without archiving: the time since the newest backup ended.</li>
 *   <li>RTO: the newest measured restore of the host, scaled by the size of its newest backup of the
 *       same kind over the size restored; "unknown" until a restore has been measured.</li>
 *   <li>State per target: met, at-risk (above 80% of it), missed, unknown (a target but nothing
 *       measured yet); no-target without one. The host's state is the worse of the two.</li>
 * </ul>
 */
public final class Compliance {
  public static final String MET = "met";
  public static final String AT_RISK = "at-risk";
  public static final String MISSED = "missed";
  public static final String UNKNOWN = "unknown";
  public static final String NO_TARGET = "no-target";

  private final Fleet fleet;
  private final BackupCatalog catalog;
  private final Policies policies;

  public Compliance(Fleet fleet, BackupCatalog catalog, Policies policies) {
    this.fleet = fleet;
    this.catalog = catalog;
    this.policies = policies;
  }

  public Set<String> hosts() {
    Set<String> all = new TreeSet<>(catalog.hosts());
    fleet.hosts().forEach(h -> all.add(h.getString("host")));
    return all;
  }

  public List<JsonObject> all(Instant now) {
    List<JsonObject> out = new ArrayList<>();
    for (String h : hosts()) {
      out.add(evaluate(h, now));
    }
    return out;
  }

  public JsonObject evaluate(String host, Instant now) {
    List<Policy> ps = policies.forHost(host);
    Duration rpoTarget = ps.stream().map(Policy::rpo).filter(Objects::nonNull).min(Duration::compareTo).orElse(null);
    Duration rtoTarget = ps.stream().map(Policy::rto).filter(Objects::nonNull).min(Duration::compareTo).orElse(null);
    // Volume-only backups hold no database: they do not count towards the host's RPO.
    List<JsonObject> all = catalog.backups(host);
    List<JsonObject> backups = all.stream().filter(b -> !"volume".equals(b.getString("kind"))).toList();
    Optional<JsonObject> state = fleet.host(host);

    JsonObject rpo = new JsonObject();
    Long rpoSeconds = null;
    String basis;
    JsonObject wal = state.map(s -> s.getJsonObject("heartbeat")).map(hb -> hb.getJsonObject("wal")).orElse(null);
    boolean archiving = wal != null && wal.getBoolean("archiving", false);
    boolean physical = backups.stream().anyMatch(b -> "physical".equals(b.getString("kind")));
    if (archiving && physical) {
      JsonObject s = state.get();
      int interval = Optional.ofNullable(s.getJsonObject("heartbeat")).map(hb -> hb.getInteger("intervalSeconds", 10)).orElse(10);
      Instant lastSeen = instant(s.getString("lastSeen"));
      boolean stale = lastSeen == null || Duration.between(lastSeen, now).toSeconds() > 3L * interval + 5;
      Instant since = instant(s.getString("unarchivedSince"));
      if (since == null && stale) {
        since = lastSeen;
      }
      rpoSeconds = since == null ? 0L : Math.max(0, Duration.between(since, now).toSeconds());
      basis = since == null ? "all written WAL is archived" : stale ? "agent silent since " + lastSeen
          : "WAL written since " + since + " is not archived yet";
      rpo.put("restorableTo", since == null ? now.toString() : since.toString());
    } else if (!backups.isEmpty()) {
      Instant end = instant(backups.get(0).getString("finishedAt"));
      rpoSeconds = end == null ? null : Math.max(0, Duration.between(end, now).toSeconds());
      basis = "newest backup " + backups.get(0).getString("id") + (archiving ? " (no physical backup to replay WAL onto)" : " (no WAL archiving)");
      rpo.put("restorableTo", backups.get(0).getString("finishedAt"));
    } else {
      // Nothing restorable: everything written since the host first registered is at risk.
      Instant registered = state.map(s -> instant(s.getString("registeredAt"))).orElse(null);
      rpoSeconds = registered == null ? null : Math.max(0, Duration.between(registered, now).toSeconds());
      basis = registered == null ? "no backup yet" : "no backup yet (host registered at " + registered + ")";
    }
    rpo.put("seconds", rpoSeconds).put("basis", basis).put("targetSeconds", rpoTarget == null ? null : rpoTarget.toSeconds())
        .put("state", state(rpoSeconds, rpoTarget, rpoTarget != null && backups.isEmpty() && rpoSeconds == null));

    JsonObject rto = new JsonObject();
    Long rtoSeconds = null;
    Optional<JsonObject> drill = catalog.newestDrill(host);
    if (drill.isPresent()) {
      JsonObject d = drill.get();
      double seconds = d.getDouble("seconds", 0.0);
      long restored = d.getLong("plainBytes", 0L);
      String kind = d.getString("kind");
      long current = all.stream().filter(b -> kind == null || kind.equals(b.getString("kind"))).findFirst()
          .map(b -> b.getLong("plainBytes", 0L)).orElse(0L);
      double scaled = restored > 0 && current > 0 ? seconds * current / restored : seconds;
      rtoSeconds = (long) Math.ceil(scaled);
      rto.put("measuredSeconds", seconds).put("measuredAt", d.getString("finishedAt")).put("measuredBytes", restored)
          .put("currentBytes", current).put("basis", "restore of " + d.getString("backupId") + " scaled to the newest backup's size");
    } else {
      rto.put("basis", "no restore measured yet");
    }
    rto.put("seconds", rtoSeconds).put("targetSeconds", rtoTarget == null ? null : rtoTarget.toSeconds())
        .put("state", state(rtoSeconds, rtoTarget, false));

    String overall = worst(rpo.getString("state"), rto.getString("state"));
    return new JsonObject().put("host", host).put("state", overall).put("rpo", rpo).put("rto", rto).put("at", now.toString());
  }

  private static String state(Long seconds, Duration target, boolean nothingRestorable) {
    if (nothingRestorable) {
      return MISSED;
    }
    if (target == null) {
      return NO_TARGET;
    }
    if (seconds == null) {
      return UNKNOWN;
    }
    if (seconds > target.toSeconds()) {
      return MISSED;
    }
    return seconds > target.toSeconds() * 0.8 ? AT_RISK : MET;
  }

  static String worst(String a, String b) {
    List<String> order = List.of(MISSED, AT_RISK, UNKNOWN, MET, NO_TARGET);
    return order.indexOf(a) <= order.indexOf(b) ? a : b;
  }

  private static Instant instant(String s) {
    return s == null ? null : Instant.parse(s);
  }
}
