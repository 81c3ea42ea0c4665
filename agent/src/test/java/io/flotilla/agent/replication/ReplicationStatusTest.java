package io.flotilla.agent.replication;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.agent.coordinator.HostProbe;
import io.flotilla.agent.postgres.PgSession;
import io.flotilla.agent.postgres.PgTools;
import io.flotilla.config.CompressionConfig;
import io.flotilla.config.EncryptionConfig;
import io.flotilla.config.HostConfig;
import io.flotilla.config.PostgresConfig;
import io.flotilla.config.RepositoryConfig;
import io.flotilla.retention.RetentionPolicy;
import io.flotilla.testkit.PostgresCluster;
import io.flotilla.testkit.Processes;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The daemon's last pass per replica, as the heartbeat carries it to the coordinator. */
class ReplicationStatusTest {

  private static Replicator.Result pass(String replica, Instant started, long behind, List<Replicator.Failure> failures) {
    return new Replicator.Result("db1", "primary", replica, started, Duration.ofSeconds(2), 3, 3000, List.of(), failures, behind, behind * 100);
  }

  @Test
  void shouldReportLagPerReplicaInTheHeartbeat() {
    ReplicationStatus status = new ReplicationStatus();
    Instant synced = Instant.now().minusSeconds(120);
    status.record(pass("east", synced, 0, List.of()));
    status.record(pass("west", synced, 0, List.of()));
    status.record(pass("west", Instant.now(), 4, List.of(new Replicator.Failure("hosts/db1/wal/x", "SHA-256 mismatch"))));
    Path bin = PostgresCluster.binDir();
    PostgresConfig pg = new PostgresConfig("postgresql://postgres@127.0.0.1:" + Processes.freePort() + "/postgres", bin, null);
    HostConfig config = new HostConfig("db1", pg, List.of(new RepositoryConfig("primary", URI.create("file:///nowhere"), null, "us-east-1", false)),
        new EncryptionConfig("none", null), new CompressionConfig("zstd", 3, 0), Path.of("/tmp"), null, RetentionPolicy.KEEP_ALL);

    JsonObject heartbeat = new HostProbe(config, new PgSession(PgTools.locate(pg), pg), status::toJson).call();

    JsonObject east = heartbeat.getJsonObject("replication").getJsonObject("east");
    assertThat(east.getLong("objectsBehind")).isZero();
    assertThat(east.getLong("lagSeconds")).isZero();
    assertThat(east.getString("syncedTo")).isEqualTo(synced.toString());
    JsonObject west = heartbeat.getJsonObject("replication").getJsonObject("west");
    assertThat(west.getLong("objectsBehind")).isEqualTo(4);
    assertThat(west.getLong("bytesBehind")).isEqualTo(400);
    assertThat(west.getString("syncedTo")).as("a pass with failures does not move syncedTo").isEqualTo(synced.toString());
    assertThat(west.getLong("lagSeconds")).isBetween(119L, 200L);
    assertThat(west.getString("lastError")).isEqualTo("hosts/db1/wal/x: SHA-256 mismatch");
    assertThat(heartbeat.getJsonObject("postgres").getBoolean("up")).isFalse();
  }

  @Test
  void shouldLeaveReplicationOutOfTheHeartbeatWhenNothingReplicates() {
    Path bin = PostgresCluster.binDir();
    PostgresConfig pg = new PostgresConfig("postgresql://postgres@127.0.0.1:" + Processes.freePort() + "/postgres", bin, null);
    HostConfig config = new HostConfig("db1", pg, List.of(new RepositoryConfig("primary", URI.create("file:///nowhere"), null, "us-east-1", false)),
        new EncryptionConfig("none", null), new CompressionConfig("zstd", 3, 0), Path.of("/tmp"), null, RetentionPolicy.KEEP_ALL);

    assertThat(new HostProbe(config, new PgSession(PgTools.locate(pg), pg), new ReplicationStatus()::toJson).call().containsKey("replication")).isFalse();
  }
}
