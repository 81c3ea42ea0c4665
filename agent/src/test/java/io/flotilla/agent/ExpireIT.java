package io.flotilla.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.testkit.PostgresCluster;
import io.flotilla.testkit.Processes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
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
 * {@code flotilla expire} on a real cluster archiving WAL into a file repository: four logical and
 * three physical backups, then keep-last 2. Expired backups vanish from list and disk, WAL older
 * than the oldest kept physical backup goes, the rest still restores; a backup a restore reads
 * stays; a dry run and a keep-everything policy remove nothing.
 */
@Timeout(value = 15, unit = TimeUnit.MINUTES)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ExpireIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Path base;
  private static PostgresCluster pg;
  private static Path config;
  private static Path keepTwo;
  private static Path repo;
  private static final List<String> logical = new ArrayList<>();
  private static final List<String> physical = new ArrayList<>();
  private static Path restored;

  @BeforeAll
  static void start() throws Exception {
    System.setProperty("flotilla.launcher", Cli.launcher().toString());
    base = Files.createTempDirectory("flotilla-expire-");
    repo = base.resolve("repo");
    Path conf = base.resolve("conf");
    Files.createDirectories(conf);
    String archive = Cli.launcher() + " wal-push --config " + conf.resolve("agent.yaml") + " %p";
    pg = PostgresCluster.start("archive_mode = on", "archive_command = '" + archive + "'", "archive_timeout = 0");
    config = Fixtures.config(conf, pg, "file://" + repo, null);
    Files.writeString(config, Files.readString(config).replace("  bin: ", "  data-directory: " + pg.dataDir() + "\n  bin: "));
    keepTwo = conf.resolve("keep-two.yaml");
    Files.writeString(keepTwo, Files.readString(config) + "retention:\n  keep-last: 2\n");
    if (Processes.isRoot()) {
      Processes.run(List.of("chown", "-R", "postgres:postgres", base.toString()), null, null).orThrow();
      Processes.run(List.of("chmod", "755", base.toString()), null, null).orThrow();
    }
    pg.psql("postgres", "CREATE DATABASE app");
    pg.psql("app", "CREATE TABLE events (id serial PRIMARY KEY, what text NOT NULL)");

    // L1 P1 L2 P2 L3 P3 L4, with WAL switched (and archived) between them.
    for (int i = 1; i <= 4; i++) {
      pg.psql("app", "INSERT INTO events (what) SELECT 'round " + i + " ' || g FROM generate_series(1, 1000) g");
      logical.add(backup("--database", "app"));
      if (i < 4) {
        switchAndAwait();
        physical.add(backup("--kind", "physical"));
        switchAndAwait();
      }
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (restored != null) {
      Processes.run(Processes.asPostgres(List.of(pg.bin().resolve("pg_ctl").toString(), "-D", restored.toString(), "-m", "immediate", "stop")), null, null);
    }
    if (pg != null) {
      pg.close();
    }
    Processes.run(List.of("rm", "-rf", base.toString()), null, null);
  }

  private static String backup(String... args) {
    List<String> all = new ArrayList<>(List.of("backup"));
    all.addAll(List.of(args));
    Cli.Result r = Cli.run(config, all.toArray(String[]::new));
    assertThat(r.exitCode()).as(r.toString()).isZero();
    return r.lastLine();
  }

  private static void switchAndAwait() throws Exception {
    String last = psql(pg.url(), "SELECT pg_walfile_name(pg_switch_wal())");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (true) {
      String archived = psql(pg.url(), "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
      if (!archived.isEmpty() && archived.compareTo(last) >= 0) {
        return;
      }
      assertThat(System.nanoTime()).as("segment " + last + " not archived; last archived " + archived).isLessThan(deadline);
      Thread.sleep(200);
    }
  }

  private static String psql(String url, String sql) {
    Processes.Result r = Processes.run(List.of(pg.bin().resolve("psql").toString(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql), null, null);
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    return r.stdout().strip();
  }

  private static List<String> listedIds() throws Exception {
    Cli.Result list = Cli.run(config, "list", "--json");
    assertThat(list.exitCode()).as(list.toString()).isZero();
    List<String> ids = new ArrayList<>();
    JSON.readTree(list.stdout()).forEach(n -> ids.add(n.get("id").asText()));
    return ids;
  }

  /** Every file under the repository with its size: what "nothing removed" compares. */
  private static Map<String, Long> repoFiles() throws Exception {
    Map<String, Long> out = new TreeMap<>();
    try (Stream<Path> s = Files.walk(repo)) {
      for (Path p : s.filter(Files::isRegularFile).toList()) {
        out.put(repo.relativize(p).toString(), Files.size(p));
      }
    }
    return out;
  }

  private static List<String> walNames() throws Exception {
    try (Stream<Path> s = Files.walk(repo.resolve("hosts/db1/wal"))) {
      // Hidden names are writes in progress (wal-push's temporary files), not archived WAL.
      return s.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList();
    }
  }

  private static String startWal(String backupId) throws Exception {
    return JSON.readTree(repo.resolve("hosts/db1/backups/" + backupId + "/manifest.json").toFile()).get("physical").get("startWal").asText();
  }

  private static void writeMarker(String name, String backupId, Instant startedAt) throws Exception {
    Path dir = Files.createDirectories(repo.resolve("hosts/db1/restores"));
    Files.writeString(dir.resolve(name + ".json"), JSON.createObjectNode().put("restoreId", name).put("backupId", backupId).put("kind", "logical")
        .put("startedAt", startedAt.toString()).put("pid", 1).put("hostname", "elsewhere").toString());
  }

  @Test
  @Order(1)
  void shouldRemoveNothingWhenPolicyKeepsEverything() throws Exception {
    // given the config has no retention block
    Map<String, Long> before = repoFiles();

    // when
    Cli.Result expire = Cli.run(config, "expire");

    // then
    assertThat(expire.exitCode()).as(expire.toString()).isZero();
    assertThat(expire.stdout()).contains("keeps everything").contains("nothing removed");
    assertThat(repoFiles()).isEqualTo(before);
    assertThat(listedIds()).hasSize(7);
  }

  @Test
  @Order(2)
  void shouldRemoveNothingOnDryRun() throws Exception {
    Map<String, Long> before = repoFiles();

    Cli.Result dry = Cli.run(keepTwo, "expire", "--dry-run", "--json");

    assertThat(dry.exitCode()).as(dry.toString()).isZero();
    JsonNode report = JSON.readTree(dry.stdout());
    assertThat(report.get("dryRun").asBoolean()).isTrue();
    assertThat(ids(report.get("expired"))).containsExactlyInAnyOrder(logical.get(0), logical.get(1), physical.get(0));
    assertThat(report.get("wal").get("removed")).isNotEmpty();
    assertThat(repoFiles()).isEqualTo(before);
  }

  @Test
  @Order(3)
  void shouldExpireAllButLastTwoOfEachKindAndTheWalOnlyTheyNeeded() throws Exception {
    // given a restore reading the oldest logical backup, and a marker a dead restore left two days ago
    writeMarker("20990101T000000Z-0001", logical.get(0), Instant.now().minusSeconds(60));
    writeMarker("20000101T000000Z-0002", logical.get(1), Instant.now().minus(Duration.ofDays(2)));
    String boundary = startWal(physical.get(1));
    List<String> walBefore = walNames();
    assertThat(walBefore).anyMatch(n -> n.substring(0, 24).compareTo(boundary) < 0);

    // when
    Cli.Result expire = Cli.run(keepTwo, "expire", "--json");

    // then L1 (in use), L3, L4, P2, P3 stay; L2 and P1 are gone from the listing and from disk
    assertThat(expire.exitCode()).as(expire.toString()).isZero();
    JsonNode report = JSON.readTree(expire.stdout());
    assertThat(ids(report.get("expired"))).containsExactlyInAnyOrder(logical.get(1), physical.get(0));
    assertThat(listedIds()).containsExactly(logical.get(3), physical.get(2), logical.get(2), physical.get(1), logical.get(0));
    for (JsonNode b : report.get("backups")) {
      if (b.get("id").asText().equals(logical.get(0))) {
        assertThat(b.get("reasons").get(0).asText()).isEqualTo("in use by a restore");
      }
    }
    assertThat(repo.resolve("hosts/db1/backups/" + logical.get(1))).doesNotExist();
    assertThat(repo.resolve("hosts/db1/backups/" + physical.get(0))).doesNotExist();
    assertThat(repo.resolve("hosts/db1/backups/" + logical.get(0) + "/manifest.json")).exists();

    // and WAL before P2's start segment is gone, the rest stays
    assertThat(report.get("wal").get("boundary").asText()).isEqualTo(boundary);
    List<String> walAfter = walNames();
    assertThat(walAfter).isNotEmpty().allMatch(n -> n.substring(0, 24).compareTo(boundary) >= 0 || n.contains(".history"));
    assertThat(walAfter).containsAll(walBefore.stream().filter(n -> n.substring(0, 24).compareTo(boundary) >= 0).toList());
    assertThat(walAfter).anyMatch(n -> n.startsWith(boundary));

    // and the fresh marker stays while the stale one is removed
    assertThat(repo.resolve("hosts/db1/restores/20990101T000000Z-0001.json")).exists();
    assertThat(repo.resolve("hosts/db1/restores/20000101T000000Z-0002.json")).doesNotExist();

    // and the text report says what happened
    Cli.Result again = Cli.run(keepTwo, "expire");
    assertThat(again.exitCode()).as(again.toString()).isZero();
    assertThat(again.stdout()).contains("keep-last 2").contains("in use by a restore").contains("removed 0 of 5 backups");
  }

  @Test
  @Order(4)
  void shouldStillRecoverFromTheOldestKeptPhysicalBackup() throws Exception {
    // given a row written after every backup, a target after it, and WAL archived past the target
    pg.psql("app", "INSERT INTO events (what) VALUES ('after expire')");
    Thread.sleep(1100);
    Instant target = Instant.now();
    Thread.sleep(1100);
    pg.psql("app", "INSERT INTO events (what) VALUES ('after target')");
    switchAndAwait();

    // when the WAL archive is checked and P2 is restored up to the target
    Cli.Result verify = Cli.run(config, "verify", "--wal", "--json");
    assertThat(verify.exitCode()).as(verify.toString()).isZero();
    restored = base.resolve("restored");
    int port = Processes.freePort();
    Cli.Result restore = Cli.run(config, "restore", "--kind", "physical", "--backup", physical.get(1), "--pgdata", restored.toString(),
        "--target-time", target.toString(), "--start", "--port", Integer.toString(port));

    // then every row is there, replayed from WAL that expire kept
    assertThat(restore.exitCode()).as(restore.toString()).isZero();
    String url = "postgresql://postgres@127.0.0.1:" + port + "/app";
    assertThat(psql(url, "SELECT count(*) FROM events WHERE what LIKE 'round %'")).isEqualTo("4000");
    assertThat(psql(url, "SELECT count(*) FROM events WHERE what = 'after expire'")).isEqualTo("1");
    assertThat(psql(url, "SELECT count(*) FROM events WHERE what = 'after target'")).isEqualTo("0");

    // and the restore left a record of its duration and no marker of its own
    try (Stream<Path> drills = Files.list(repo.resolve("hosts/db1/drills"))) {
      List<Path> records = drills.toList();
      assertThat(records).hasSize(1);
      JsonNode record = JSON.readTree(records.get(0).toFile());
      assertThat(record.get("backupId").asText()).isEqualTo(physical.get(1));
      assertThat(record.get("kind").asText()).isEqualTo("physical");
      assertThat(record.get("plainBytes").asLong()).isPositive();
      assertThat(record.get("seconds").asDouble()).isPositive();
      assertThat(record.get("target").asText()).contains(restored.toString());
    }
    try (Stream<Path> markers = Files.list(repo.resolve("hosts/db1/restores"))) {
      assertThat(markers.map(p -> p.getFileName().toString())).containsExactly("20990101T000000Z-0001.json");
    }
  }

  @Test
  @Order(5)
  void shouldRecordLogicalRestoreAndRemoveItsMarker() throws Exception {
    Cli.Result restore = Cli.run(config, "restore", "--backup", logical.get(0), "--database", "app", "--target-database", "app_copy");

    assertThat(restore.exitCode()).as(restore.toString()).isZero();
    assertThat(pg.psql("app_copy", "SELECT count(*) FROM events").strip()).isEqualTo("1000");
    try (Stream<Path> drills = Files.list(repo.resolve("hosts/db1/drills"))) {
      assertThat(drills.map(p -> p.getFileName().toString())).hasSize(2);
    }
    JsonNode record = null;
    try (Stream<Path> drills = Files.list(repo.resolve("hosts/db1/drills"))) {
      for (Path p : drills.toList()) {
        JsonNode n = JSON.readTree(p.toFile());
        if (n.get("kind").asText().equals("logical")) {
          record = n;
        }
      }
    }
    assertThat(record).isNotNull();
    assertThat(record.get("backupId").asText()).isEqualTo(logical.get(0));
    assertThat(record.get("target").asText()).contains("database app as app_copy");
    try (Stream<Path> markers = Files.list(repo.resolve("hosts/db1/restores"))) {
      assertThat(markers.map(p -> p.getFileName().toString())).containsExactly("20990101T000000Z-0001.json");
    }
  }

  private static List<String> ids(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }
}
