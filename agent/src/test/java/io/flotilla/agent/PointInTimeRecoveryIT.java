package io.flotilla.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.testkit.PostgresCluster;
import io.flotilla.testkit.Processes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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
 * WAL archiving through {@code flotilla wal-push} as the real archive_command, a base backup while
 * pgbench writes, and point-in-time recovery on the first timeline and, after a promotion, on the
 * second.
 */
@Timeout(value = 15, unit = TimeUnit.MINUTES)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PointInTimeRecoveryIT {
  private static Path base;
  private static PostgresCluster pg;
  private static Path config;
  private static Path repo;
  private static final List<Path> restored = new ArrayList<>();
  private static Instant beforeSecond;
  private static Instant onSecondTimeline;

  @BeforeAll
  static void start() throws Exception {
    System.setProperty("flotilla.launcher", Cli.launcher().toString());
    base = Files.createTempDirectory("flotilla-pitr-");
    repo = base.resolve("repo");
    Path conf = base.resolve("conf");
    Files.createDirectories(conf);
    // archive_command runs as the server's OS user: it must reach the config, spool and repository.
    String archive = Cli.launcher() + " wal-push --config " + conf.resolve("agent.yaml") + " %p";
    pg = PostgresCluster.start("archive_mode = on", "archive_command = '" + archive + "'", "archive_timeout = 0");
    config = Fixtures.config(conf, pg, "file://" + repo, null);
    Files.writeString(config, Files.readString(config).replace("  bin: ", "  data-directory: " + pg.dataDir() + "\n  bin: "));
    if (Processes.isRoot()) {
      Processes.run(List.of("chown", "-R", "postgres:postgres", base.toString()), null, null).orThrow();
      Processes.run(List.of("chmod", "755", base.toString()), null, null).orThrow();
    }
    pg.psql("postgres", "CREATE DATABASE app");
    pg.psql("app", "CREATE TABLE events (id serial PRIMARY KEY, what text NOT NULL, at timestamptz DEFAULT clock_timestamp())");
    pg.psql("postgres", "SELECT pg_switch_wal()");
    awaitArchived(1);
  }

  @AfterAll
  static void stop() throws Exception {
    for (Path dir : restored) {
      Processes.run(Processes.asPostgres(List.of(pg.bin().resolve("pg_ctl").toString(), "-D", dir.toString(), "-m", "immediate", "stop")), null, null);
    }
    if (pg != null) {
      pg.close();
    }
    Processes.run(List.of("rm", "-rf", base.toString()), null, null);
  }

  private static long archivedSegments(int timeline) {
    Path dir = repo.resolve("hosts/db1/wal/" + String.format("%08X", timeline));
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().matches("[0-9A-F]{24}\\..*")).count();
    } catch (Exception e) {
      return 0;
    }
  }

  private static void awaitArchived(long atLeast) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (archivedSegments(1) < atLeast) {
      assertThat(System.nanoTime()).as("WAL was not archived in time; server log:\n" + serverLog()).isLessThan(deadline);
      Thread.sleep(200);
    }
  }

  /** Switches WAL and waits until PostgreSQL reports the switched-out segment archived. */
  private static void switchAndAwait(PostgresCluster cluster, String url) throws Exception {
    String last = psql(url, "SELECT pg_walfile_name(pg_switch_wal())");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (true) {
      String archived = psql(url, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
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

  private static String serverLog() {
    try {
      return Files.readString(pg.dataDir().getParent().resolve("server.log"));
    } catch (Exception e) {
      return "(no log)";
    }
  }

  private static Path newDataDir(String name) throws Exception {
    Path dir = base.resolve(name);
    restored.add(dir);
    return dir;
  }

  @Test
  @Order(1)
  void shouldRecoverExactlyTheRowsCommittedBeforeTheTargetTime() throws Exception {
    pg.psql("app", "INSERT INTO events (what) SELECT 'old ' || i FROM generate_series(1, 1000) i");
    Processes.run(List.of(pg.bin().resolve("pgbench").toString(), "-i", "-s", "3", "-q", pg.url("app")), null, null).orThrow();
    // pgbench writes while the base backup runs.
    Process bench = new ProcessBuilder(pg.bin().resolve("pgbench").toString(), "-c", "2", "-T", "8", "-n", pg.url("app"))
        .redirectErrorStream(true).redirectOutput(base.resolve("pgbench.log").toFile()).start();
    Cli.Result backup = Cli.run(config, "backup", "--kind", "physical");
    bench.waitFor(60, TimeUnit.SECONDS);
    assertThat(backup.exitCode()).as(backup.toString()).isZero();

    pg.psql("app", "INSERT INTO events (what) VALUES ('before target')");
    Thread.sleep(1100);
    Instant target = Instant.now();
    Thread.sleep(1100);
    pg.psql("app", "INSERT INTO events (what) VALUES ('after target')");
    switchAndAwait(pg, pg.url());

    Path dir = newDataDir("restored-tl1");
    int port = Processes.freePort();
    Cli.Result restore = Cli.run(config, "restore", "--kind", "physical", "--backup", "latest", "--pgdata", dir.toString(),
        "--target-time", target.toString(), "--start", "--port", Integer.toString(port));
    assertThat(restore.exitCode()).as(restore.toString()).isZero();
    assertThat(restore.stdout()).contains("reached LSN");

    String restoredUrl = "postgresql://postgres@127.0.0.1:" + port + "/app";
    assertThat(psql(restoredUrl, "SELECT count(*) FROM events WHERE what = 'before target'")).isEqualTo("1");
    assertThat(psql(restoredUrl, "SELECT count(*) FROM events WHERE what = 'after target'")).isEqualTo("0");
    assertThat(psql(restoredUrl, "SELECT count(*) FROM events WHERE what LIKE 'old %'")).isEqualTo("1000");
    assertThat(psql(restoredUrl, "SELECT max(at) < '" + target + "'::timestamptz FROM events")).isEqualTo("t");
    Processes.run(Processes.asPostgres(List.of(pg.bin().resolve("pg_ctl").toString(), "-D", dir.toString(), "-m", "fast", "stop")), null, null);
  }

  @Test
  @Order(2)
  void shouldArchiveTheNewTimelineAfterPromotionAndRecoverOnIt() throws Exception {
    pg.psql("app", "INSERT INTO events (what) VALUES ('branch point')");
    Thread.sleep(1100);
    beforeSecond = Instant.now();
    Thread.sleep(1100);
    pg.psql("app", "INSERT INTO events (what) VALUES ('only on timeline 1')");
    Thread.sleep(1100);
    Instant laterOnFirst = Instant.now();
    Thread.sleep(1100);
    pg.psql("app", "INSERT INTO events (what) VALUES ('later on timeline 1')");
    switchAndAwait(pg, pg.url());

    // Restore to the branch point and promote: a new timeline that archives into the same host archive.
    Path promotedDir = newDataDir("promoted");
    int port = Processes.freePort();
    Cli.Result promote = Cli.run(config, "restore", "--kind", "physical", "--pgdata", promotedDir.toString(), "--target-time",
        beforeSecond.toString(), "--target-action", "promote", "--start", "--port", Integer.toString(port));
    assertThat(promote.exitCode()).as(promote.toString()).isZero();
    assertThat(promote.stdout()).contains("promoted");
    String promotedUrl = "postgresql://postgres@127.0.0.1:" + port + "/app";
    String timeline = psql(promotedUrl, "SELECT timeline_id FROM pg_control_checkpoint()");
    psql(promotedUrl, "CHECKPOINT");
    assertThat(psql(promotedUrl, "SELECT timeline_id FROM pg_control_checkpoint()")).isNotEqualTo("1");
    timeline = psql(promotedUrl, "SELECT timeline_id FROM pg_control_checkpoint()");
    psql(promotedUrl, "INSERT INTO events (what) VALUES ('on timeline 2')");
    Thread.sleep(1100);
    onSecondTimeline = Instant.now();
    Thread.sleep(1100);
    psql(promotedUrl, "INSERT INTO events (what) VALUES ('late on timeline 2')");
    String lastSegment = psql(promotedUrl, "SELECT pg_walfile_name(pg_switch_wal())");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!psql(promotedUrl, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver").equals(lastSegment)) {
      assertThat(System.nanoTime()).as("timeline " + timeline + " segment " + lastSegment + " not archived").isLessThan(deadline);
      Thread.sleep(200);
    }
    String tl = String.format("%08X", Integer.parseInt(timeline));
    assertThat(repo.resolve("hosts/db1/wal/" + tl)).isDirectoryContaining(p -> p.getFileName().toString().startsWith(tl + ".history"));
    assertThat(archivedSegments(Integer.parseInt(timeline))).isPositive();

    // Recover on the new timeline: the same base backup, following the history file.
    Path second = newDataDir("restored-tl2");
    int port2 = Processes.freePort();
    Cli.Result onTl2 = Cli.run(config, "restore", "--kind", "physical", "--pgdata", second.toString(), "--target-time",
        onSecondTimeline.toString(), "--start", "--port", Integer.toString(port2));
    assertThat(onTl2.exitCode()).as(onTl2.toString()).isZero();
    String url2 = "postgresql://postgres@127.0.0.1:" + port2 + "/app";
    assertThat(psql(url2, "SELECT string_agg(what, ',' ORDER BY id) FROM events WHERE what NOT LIKE 'old %'"))
        .isEqualTo("before target,after target,branch point,on timeline 2");

    // And the first timeline is still there for a recovery that asks for it.
    Path first = newDataDir("restored-tl1-again");
    int port3 = Processes.freePort();
    Cli.Result onTl1 = Cli.run(config, "restore", "--kind", "physical", "--pgdata", first.toString(), "--target-time",
        laterOnFirst.toString(), "--target-timeline", "1", "--start", "--port", Integer.toString(port3));
    assertThat(onTl1.exitCode()).as(onTl1.toString()).isZero();
    assertThat(psql("postgresql://postgres@127.0.0.1:" + port3 + "/app", "SELECT string_agg(what, ',' ORDER BY id) FROM events WHERE what NOT LIKE 'old %'"))
        .isEqualTo("before target,after target,branch point,only on timeline 1");
  }

  @Test
  @Order(3)
  void shouldRefuseBadRestoreRequests() throws Exception {
    Path nonEmpty = Files.createDirectories(base.resolve("occupied"));
    Files.writeString(nonEmpty.resolve("keep.txt"), "mine");
    Cli.Result busy = Cli.run(config, "restore", "--kind", "physical", "--pgdata", nonEmpty.toString());
    assertThat(busy.exitCode()).as(busy.toString()).isEqualTo(9);
    assertThat(busy.stderr()).contains("not empty");
    assertThat(Files.readString(nonEmpty.resolve("keep.txt"))).isEqualTo("mine");

    Cli.Result future = Cli.run(config, "restore", "--kind", "physical", "--pgdata", base.resolve("x").toString(), "--target-time", "2999-01-01T00:00:00Z");
    assertThat(future.exitCode()).isEqualTo(2);
    assertThat(future.stderr()).contains("in the future");

    Cli.Result tooEarly = Cli.run(config, "restore", "--kind", "physical", "--pgdata", base.resolve("y").toString(), "--target-time", "2001-01-01T00:00:00Z");
    assertThat(tooEarly.exitCode()).isEqualTo(6);
    assertThat(tooEarly.stderr()).contains("before the oldest physical backup");
  }
}
