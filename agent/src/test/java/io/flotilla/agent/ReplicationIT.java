package io.flotilla.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.manifest.Manifests;
import io.flotilla.testkit.PostgresCluster;
import io.flotilla.testkit.Processes;
import io.flotilla.testkit.S3Server;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Replication with real parts: PostgreSQL archiving WAL through the real archive_command into a
 * file repository (the primary), replicated file to S3 ("east", one S3 server) and S3 to S3
 * ("west", another S3 server standing for another region); then the primary is lost and both a
 * logical restore and a point-in-time recovery come back from the replicas.
 */
@Timeout(value = 15, unit = TimeUnit.MINUTES)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReplicationIT {
  private static final Map<String, String> AWS_ENV = Map.of("AWS_ACCESS_KEY_ID", S3Server.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY", S3Server.SECRET_KEY);
  private static Path base;
  private static Path repo;
  private static PostgresCluster pg;
  private static S3Server east;
  private static S3Server west;
  private static Path config;
  private static String logicalId;
  private static Instant target;
  private static Path restoredDir;

  @BeforeAll
  static void start() throws Exception {
    System.setProperty("flotilla.launcher", Cli.launcher().toString());
    base = Files.createTempDirectory("flotilla-replication-");
    repo = base.resolve("repo");
    Path conf = Files.createDirectories(base.resolve("conf"));
    east = S3Server.start("region-east");
    west = S3Server.start("region-west");
    String archive = Cli.launcher() + " wal-push --config " + conf.resolve("agent.yaml") + " %p";
    pg = PostgresCluster.start("archive_mode = on", "archive_command = '" + archive + "'", "archive_timeout = 0");
    Fixtures.config(conf, pg, "file://" + repo, null);
    config = conf.resolve("agent.yaml");
    String yaml = Files.readString(config)
        .replace("  bin: ", "  data-directory: " + pg.dataDir() + "\n  bin: ")
        .replace("encryption:\n", ""
            + "  - name: east\n"
            + "    url: s3://region-east/flotilla\n"
            + "    endpoint: " + east.endpoint() + "\n"
            + "    replicate-from: primary\n"
            + "    storage-class: {default: ONEZONE_IA, monthly: STANDARD_IA}\n"
            + "    sse: AES256\n"
            + "  - name: west\n"
            + "    url: s3://region-west/flotilla\n"
            + "    endpoint: " + west.endpoint() + "\n"
            + "    replicate-from: east\n"
            + "    interval: 5m\n"
            + "retention:\n"
            + "  keep-last: 1\n"
            + "encryption:\n");
    Files.writeString(config, yaml);
    if (Processes.isRoot()) {
      Processes.run(List.of("chown", "-R", "postgres:postgres", base.toString()), null, null).orThrow();
      Processes.run(List.of("chmod", "755", base.toString()), null, null).orThrow();
    }
    pg.psql("postgres", "CREATE DATABASE app");
    pg.psql("app", "CREATE TABLE events (id serial PRIMARY KEY, what text NOT NULL, at timestamptz DEFAULT clock_timestamp())");
    pg.psql("app", "INSERT INTO events (what) SELECT 'old ' || i FROM generate_series(1, 2000) i");
    switchAndAwait();

    Cli.Result logical = Cli.run(config, "backup", "--database", "app", "--label", "monthly");
    assertThat(logical.exitCode()).as(logical.toString()).isZero();
    logicalId = logical.lastLine();
    Cli.Result physical = Cli.run(config, "backup", "--kind", "physical");
    assertThat(physical.exitCode()).as(physical.toString()).isZero();

    pg.psql("app", "INSERT INTO events (what) VALUES ('before target')");
    Thread.sleep(1100);
    target = Instant.now();
    Thread.sleep(1100);
    pg.psql("app", "INSERT INTO events (what) VALUES ('after target')");
    switchAndAwait();
  }

  @AfterAll
  static void stop() throws Exception {
    if (restoredDir != null) {
      Processes.run(Processes.asPostgres(List.of(pg.bin().resolve("pg_ctl").toString(), "-D", restoredDir.toString(), "-m", "immediate", "stop")), null, null);
    }
    if (pg != null) {
      pg.close();
    }
    for (S3Server s : new S3Server[] {east, west}) {
      if (s != null) {
        s.close();
      }
    }
    Processes.run(List.of("rm", "-rf", base.toString()), null, null);
  }

  private static void switchAndAwait() throws Exception {
    String last = pg.psql("postgres", "SELECT pg_walfile_name(pg_switch_wal())").strip();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (true) {
      String archived = pg.psql("postgres", "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver").strip();
      if (!archived.isEmpty() && archived.compareTo(last) >= 0) {
        return;
      }
      assertThat(System.nanoTime()).as("segment " + last + " not archived; last archived " + archived).isLessThan(deadline);
      Thread.sleep(200);
    }
  }

  private static JsonNode json(Cli.Result r) throws Exception {
    assertThat(r.exitCode()).as(r.toString()).isZero();
    return Manifests.JSON.readTree(r.stdout());
  }

  @Test
  @Order(1)
  void shouldReplicateFileToS3AndS3ToS3WithEveryObjectVerified() throws Exception {
    Cli.Result run = Cli.run(config, "replicate", "--once");
    assertThat(run.exitCode()).as(run.toString()).isZero();
    assertThat(run.stdout()).contains("primary -> east: copied").contains("east -> west: copied").contains(logicalId);

    for (String replica : List.of("east", "west")) {
      Cli.Result verify = Cli.run(config, "verify", "--repo", replica);
      assertThat(verify.exitCode()).as(verify.toString()).isZero();
      assertThat(verify.stdout().lines().filter(l -> l.contains(": OK"))).hasSize(2);
      Cli.Result wal = Cli.run(config, "verify", "--wal", "--repo", replica);
      assertThat(wal.exitCode()).as(wal.toString()).isZero();
      assertThat(Cli.run(config, "list", "--repo", replica).stdout()).contains(logicalId);
    }
    // East's config: monthly backups in STANDARD_IA, everything else ONEZONE_IA, all with SSE-S3 (as S3Mock records them).
    String dumpMeta = Files.readString(s3Object(east, "flotilla/hosts/db1/backups/" + logicalId + "/", "app.dump").resolveSibling("objectMetadata.json"));
    assertThat(dumpMeta).contains("\"storageClass\":\"STANDARD_IA\"").contains("\"x-amz-server-side-encryption\":\"AES256\"");
    String walMeta = Files.readString(s3Object(east, "flotilla/hosts/db1/wal/", "00000001000000000000000").resolveSibling("objectMetadata.json"));
    assertThat(walMeta).contains("\"storageClass\":\"ONEZONE_IA\"").contains("\"x-amz-server-side-encryption\":\"AES256\"");

    JsonNode status = json(Cli.run(config, "status", "--json"));
    assertThat(status.get("replication")).hasSize(2);
    for (JsonNode r : status.get("replication")) {
      assertThat(r.get("objectsBehind").asLong()).as(r.toString()).isZero();
      assertThat(r.get("lagSeconds").asLong()).as(r.toString()).isZero();
    }
  }

  @Test
  @Order(2)
  void shouldCopyNothingOnASecondRun() throws Exception {
    JsonNode again = json(Cli.run(config, "replicate", "--once", "--json"));
    assertThat(again).hasSize(2);
    for (JsonNode r : again) {
      assertThat(r.get("copiedObjects").asLong()).as(r.toString()).isZero();
      assertThat(r.get("objectsBehind").asLong()).as(r.toString()).isZero();
    }
  }

  @Test
  @Order(3)
  void shouldKeepTheReplicasCaughtUpFromTheAgentDaemon() throws Exception {
    // The daemon replicates continuously into east and every 5 minutes into west (once at start-up).
    Path log = base.resolve("agent.log");
    ProcessBuilder pb = new ProcessBuilder(Processes.asPostgres(List.of(Cli.launcher().toString(), "agent", "--config", config.toString())))
        .redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().putAll(AWS_ENV);
    Process agent = pb.start();
    try {
      awaitLog(log, "replicating into east, west");
      pg.psql("app", "INSERT INTO events (what) VALUES ('while the daemon runs')");
      switchAndAwait();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (true) {
        JsonNode eastLag = json(Cli.run(config, "status", "--json")).get("replication").get(0);
        if (eastLag.get("objectsBehind").asLong() == 0) {
          break;
        }
        assertThat(System.nanoTime()).as("east did not catch up: " + eastLag + "\n" + Files.readString(log)).isLessThan(deadline);
        Thread.sleep(1000);
      }
      JsonNode westLag = json(Cli.run(config, "status", "--json")).get("replication").get(1);
      assertThat(westLag.get("replica").asText()).isEqualTo("west");
      assertThat(westLag.get("objectsBehind").asLong()).as(westLag.toString()).isPositive();
      assertThat(westLag.get("lagSeconds").isNumber()).as(westLag.toString()).isTrue();
      assertThat(Cli.run(config, "status").stdout()).containsPattern("replica west: +\\d+ objects \\(.*\\) behind");
    } finally {
      agent.toHandle().descendants().forEach(ProcessHandle::destroy);
      agent.destroy();
      agent.waitFor(30, TimeUnit.SECONDS);
    }
    Cli.Result west = Cli.run(config, "replicate", "--once", "--to", "west");
    assertThat(west.exitCode()).as(west.toString()).isZero();
  }

  private static void awaitLog(Path log, String text) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (!Files.exists(log) || !Files.readString(log).contains(text)) {
      assertThat(System.nanoTime()).as("'" + text + "' not logged:\n" + (Files.exists(log) ? Files.readString(log) : "")).isLessThan(deadline);
      Thread.sleep(200);
    }
  }

  @Test
  @Order(4)
  void shouldNotPublishABackupWhoseObjectFailsVerification() throws Exception {
    Cli.Result backup = Cli.run(config, "backup", "--database", "app");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    String damagedId = backup.lastLine();
    Path dump;
    try (Stream<Path> s = Files.walk(repo.resolve("hosts/db1/backups/" + damagedId))) {
      dump = s.filter(p -> p.getFileName().toString().startsWith("app.dump")).findFirst().orElseThrow();
    }
    flipByte(dump);
    String key = repo.relativize(dump).toString();

    Cli.Result run = Cli.run(config, "replicate", "--once", "--to", "east");
    assertThat(run.exitCode()).as(run.toString()).isEqualTo(8);
    assertThat(run.stderr().strip().lines()).hasSize(1);
    assertThat(run.stderr()).contains(key).contains("SHA-256");
    assertThat(Cli.run(config, "list", "--repo", "east").stdout()).doesNotContain(damagedId);
    JsonNode status = json(Cli.run(config, "status", "--json"));
    JsonNode eastLag = status.get("replication").get(0);
    assertThat(eastLag.get("replica").asText()).isEqualTo("east");
    assertThat(eastLag.get("objectsBehind").asLong()).isPositive();
  }

  @Test
  @Order(5)
  void shouldFindAnObjectCorruptedOnTheReplicaAndExpireThereOnItsOwn() throws Exception {
    String key = "flotilla/hosts/db1/backups/" + logicalId + "/";
    Path data = s3Object(west, key, "app.dump");
    flipByte(data);
    Cli.Result verify = Cli.run(config, "verify", "--repo", "west", "--backup", logicalId);
    assertThat(verify.exitCode()).as(verify.toString()).isEqualTo(8);
    assertThat(verify.stderr()).contains("app.dump");

    // Retention is per repository: expire on the replica, and replication does not bring it back.
    Cli.Result expire = Cli.run(config, "expire", "--repo", "west");
    assertThat(expire.exitCode()).as(expire.toString()).isZero();
    assertThat(expire.stdout()).containsPattern("WAL: removed [1-9]\\d* files");
    JsonNode again = json(Cli.run(config, "replicate", "--once", "--to", "west", "--json"));
    assertThat(again.get(0).get("copiedObjects").asLong()).as(again.toString()).isZero();
    assertThat(again.get(0).get("objectsBehind").asLong()).as(again.toString()).isZero();
  }

  @Test
  @Order(6)
  void shouldRestoreFromTheReplicasWhenThePrimaryIsGone() throws Exception {
    Processes.run(List.of("rm", "-rf", repo.toString()), null, null).orThrow();
    assertThat(Cli.run(config, "list").exitCode()).isNotZero();

    Cli.Result logical = Cli.run(config, "restore", "--repo", "east", "--backup", logicalId, "--database", "app", "--target-database", "app_from_east");
    assertThat(logical.exitCode()).as(logical.toString()).isZero();
    assertThat(pg.psql("app_from_east", "SELECT count(*) FROM events WHERE what LIKE 'old %'").strip()).isEqualTo("2000");

    // Point-in-time recovery from the second-hop replica; the launcher runs it (and so PostgreSQL's
    // restore_command) with the S3 credentials in its environment, as a service unit would.
    restoredDir = base.resolve("restored");
    int port = Processes.freePort();
    Processes.Result pitr = Processes.run(List.of(Cli.launcher().toString(), "restore", "--kind", "physical", "--repo", "west",
        "--pgdata", restoredDir.toString(), "--target-time", target.toString(), "--start", "--port", Integer.toString(port),
        "--config", config.toString()), null, null, AWS_ENV);
    assertThat(pitr.exitCode()).as(pitr.stdout() + pitr.stderr()).isZero();
    assertThat(Files.readString(restoredDir.resolve("postgresql.auto.conf"))).contains("wal-fetch --config " + config + " --repo west");
    String url = "postgresql://postgres@127.0.0.1:" + port + "/app";
    assertThat(psql(url, "SELECT count(*) FROM events WHERE what LIKE 'old %'")).isEqualTo("2000");
    assertThat(psql(url, "SELECT count(*) FROM events WHERE what = 'before target'")).isEqualTo("1");
    assertThat(psql(url, "SELECT count(*) FROM events WHERE what = 'after target'")).isEqualTo("0");
  }

  private static String psql(String url, String sql) {
    Processes.Result r = Processes.run(List.of(pg.bin().resolve("psql").toString(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql), null, null);
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    return r.stdout().strip();
  }

  private static void flipByte(Path file) throws Exception {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      long at = f.length() / 2;
      f.seek(at);
      int b = f.read();
      f.seek(at);
      f.write(b ^ 0xFF);
    }
  }

  /** The file S3Mock keeps an object's bytes in: the folder whose metadata names the key. */
  private static Path s3Object(S3Server s3, String keyPrefix, String namePart) throws Exception {
    try (Stream<Path> s = Files.walk(s3.storeRoot())) {
      for (Path meta : s.filter(p -> p.getFileName().toString().equals("objectMetadata.json")).toList()) {
        String text = Files.readString(meta);
        if (text.contains(keyPrefix) && text.contains(namePart)) {
          return meta.resolveSibling("binaryData");
        }
      }
    }
    throw new AssertionError("no object under " + keyPrefix + " named like " + namePart + " in " + s3.storeRoot());
  }
}
