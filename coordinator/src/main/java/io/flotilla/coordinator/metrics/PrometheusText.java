package io.flotilla.coordinator.metrics;

import io.flotilla.coordinator.catalog.BackupCatalog;
import io.flotilla.coordinator.compliance.Compliance;
import io.flotilla.coordinator.fleet.Fleet;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The Prometheus text exposition (format 0.0.4) of the fleet's state. */
public final class PrometheusText {
  /** Samples grouped by metric family, as the format requires, in first-seen order. */
  private final Map<String, StringBuilder> families = new LinkedHashMap<>();

  public static String render(Fleet fleet, BackupCatalog catalog, Compliance compliance, long jobFailures, int members, boolean leader,
      Instant now) {
    PrometheusText t = new PrometheusText();
    for (JsonObject c : compliance.all(now)) {
      String host = c.getString("host");
      for (String kind : List.of("logical", "physical")) {
        Optional<JsonObject> b = catalog.backups(host).stream().filter(x -> kind.equals(x.getString("kind"))).findFirst();
        if (b.isPresent()) {
          String[] labels = {"host", host, "kind", kind};
          t.gauge("flotilla_last_backup_success_timestamp_seconds", "End of the newest complete backup.",
              Instant.parse(b.get().getString("finishedAt")).toEpochMilli() / 1000.0, labels);
          t.gauge("flotilla_last_backup_size_bytes", "Stored size of the newest complete backup.", b.get().getLong("storedBytes", 0L), labels);
          Double d = b.get().getDouble("durationSeconds");
          if (d != null) {
            t.gauge("flotilla_last_backup_duration_seconds", "Duration of the newest complete backup.", d, labels);
          }
        }
      }
      Optional<JsonObject> state = fleet.host(host);
      state.map(s -> s.getJsonObject("heartbeat")).map(hb -> hb.getJsonObject("wal")).map(w -> w.getLong("readySegments"))
          .ifPresent(lag -> t.gauge("flotilla_wal_archive_lag_segments", "WAL segments ready but not yet archived.", lag, "host", host));
      t.gauge("flotilla_agent_connected", "1 while the host's agent is connected to a coordinator member.",
          state.map(s -> s.getBoolean("connected", false) ? 1 : 0).orElse(0), "host", host);
      Long rpo = c.getJsonObject("rpo").getLong("seconds");
      if (rpo != null) {
        t.gauge("flotilla_rpo_seconds", "Data that could be lost right now, in seconds.", rpo, "host", host);
      }
      Long rto = c.getJsonObject("rto").getLong("seconds");
      if (rto != null) {
        t.gauge("flotilla_rto_seconds", "Restore time estimated from the newest measured restore.", rto, "host", host);
      }
      for (String s : List.of(Compliance.MET, Compliance.AT_RISK, Compliance.MISSED, Compliance.UNKNOWN, Compliance.NO_TARGET)) {
        t.gauge("flotilla_compliance_state", "1 for the host's current compliance state (worst of RPO and RTO).",
            s.equals(c.getString("state")) ? 1 : 0, "host", host, "state", s);
      }
    }
    t.counter("flotilla_job_failures_total", "Jobs that ended failed, cluster-wide.", jobFailures);
    t.gauge("flotilla_cluster_members", "Coordinator members this member sees.", members);
    t.gauge("flotilla_leader", "1 on the member that currently schedules.", leader ? 1 : 0);
    StringBuilder all = new StringBuilder();
    t.families.values().forEach(all::append);
    return all.toString();
  }

  private void gauge(String name, String help, double value, String... labels) {
    sample(name, "gauge", help, value, labels);
  }

  private void counter(String name, String help, double value) {
    sample(name, "counter", help, value);
  }

  private void sample(String name, String type, String help, double value, String... labels) {
    StringBuilder out = families.computeIfAbsent(name, n -> new StringBuilder()
        .append("# HELP ").append(n).append(' ').append(help).append('\n')
        .append("# TYPE ").append(n).append(' ').append(type).append('\n'));
    out.append(name);
    if (labels.length > 0) {
      out.append('{');
      for (int i = 0; i < labels.length; i += 2) {
        if (i > 0) {
          out.append(',');
        }
        out.append(labels[i]).append("=\"").append(labels[i + 1].replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n"))
            .append('"');
      }
      out.append('}');
    }
    out.append(' ');
    if (value == Math.rint(value) && Math.abs(value) < 1e15) {
      out.append((long) value);
    } else {
      out.append(value);
    }
    out.append('\n');
  }
}
