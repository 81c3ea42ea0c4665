package io.flotilla.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.testkit.PostgresCluster;
import io.flotilla.testkit.Processes;
import io.flotilla.testkit.S3Server;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * wal-push and wal-fetch as PostgreSQL calls them: durable before success, idempotent, loud on a
 * conflict, quiet past the end of the archive; no segment lost when the repository is down for a
 * while or the agent daemon is killed mid-push.
 */
@Timeout(value = 15, unit = TimeUnit.MINUTES)
class WalArchiveIT {
  private static Path base;
  private static S3Server s3;
  private static PostgresCluster pg;
  private static Path s3Config;
  private static Path fileConfig;
  private static Path fileRepo;

  @BeforeAll
  static void start() throws Exception {
    base = Files.createTempDirectory("flotilla-wal-");
    s3 = S3Server.start("wal");
    Path conf = Files.createDirectories(base.resolve("conf"));
    // The cluster archives to S3 through the relay, so the test can take the repository away.
    String archive = Cli.launcher() + " wal-push --config " + conf.resolve("agent.yaml") + " %p";
    pg = PostgresCluster.start(java.util.Map.of("AWS_ACCESS_KEY_ID", S3Server.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY", S3Server.SECRET_KEY),
        "archive_mode = on", "archive_command = '" + archive + "'");
    s3Config = Fixtures.config(conf, pg, "s3://wal/archive", s3.outageEndpoint());
    Files.writeString(s3Config, Files.readString(s3Config).replace("  bin: ", "  data-directory: " + pg.dataDir() + "\n  bin: "));
    fileRepo = base.resolve("file-repo");
    fileConfig = Fixtures.config(base.resolve("file-conf"), pg, "file://" + fileRepo, null);
    if (Processes.isRoot()) {
      Processes.run(List.of("chown", "-R", "postgres:postgres", base.toString()), null, null).orThrow();
      Processes.run(List.of("chmod", "755", base.toString()), null, null).orThrow();
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (pg != null) {
      pg.close();
    }
    if (s3 != null) {
      s3.close();
    }
    Processes.run(List.of("rm", "-rf", base.toString()), null, null);
  }

  private static Path segment(String name, long seed) throws Exception {
    Path dir = Files.createDirectories(base.resolve("segments-" + seed));
    byte[] data = new byte[16 * 1024 * 1024];
    new Random(seed).nextBytes(data);
    for (int i = 0; i < data.length; i += 4096) {
      data[i] = 0; // some structure, as real WAL has
    }
    return Files.write(dir.resolve(name), data);
  }

  @Test
  void shouldBeIdempotentForTheSameContentAndLoudForDifferentContent() throws Exception {
    Path seg = segment("0000000100000000000000F0", 1);
    Cli.Result first = Cli.run(fileConfig, "wal-push", seg.toString());
    assertThat(first.exitCode()).as(first.toString()).isZero();
    assertThat(fileRepo.resolve("hosts/db1/wal/00000001/0000000100000000000000F0.zst.gpg")).exists();

    Cli.Result again = Cli.run(fileConfig, "wal-push", seg.toString(), "--verbose");
    assertThat(again.exitCode()).as(again.toString()).isZero();
    assertThat(again.stdout()).contains("ALREADY_ARCHIVED");

    Path other = segment("0000000100000000000000F0", 2);
    Cli.Result conflict = Cli.run(fileConfig, "wal-push", other.toString());
    assertThat(conflict.exitCode()).as(conflict.toString()).isEqualTo(9);
    assertThat(conflict.stderr()).contains("0000000100000000000000F0").contains("different content");

    Path fetched = base.resolve("fetched-F0");
    Cli.Result fetch = Cli.run(fileConfig, "wal-fetch", "0000000100000000000000F0", fetched.toString());
    assertThat(fetch.exitCode()).as(fetch.toString()).isZero();
    assertThat(Files.mismatch(fetched, seg)).isEqualTo(-1);
  }

  @Test
  void shouldAnswerQuietlyPastTheEndAndPrefetchWhatFollows() throws Exception {
    List<Path> segs = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      Path seg = segment(String.format("0000000100000001000000%02X", i), 10 + i);
      segs.add(seg);
      assertThat(Cli.run(fileConfig, "wal-push", seg.toString()).exitCode()).isZero();
    }
    Cli.Result missing = Cli.run(fileConfig, "wal-fetch", "000000010000000100000099", base.resolve("nothing").toString());
    assertThat(missing.exitCode()).isEqualTo(1);
    assertThat(missing.stderr()).isEmpty();
    assertThat(missing.stdout()).isEmpty();
    assertThat(Cli.run(fileConfig, "wal-fetch", "00000009.history", base.resolve("nothing").toString()).exitCode()).isEqualTo(1);

    Path first = base.resolve("f0");
    assertThat(Cli.run(fileConfig, "wal-fetch", "000000010000000100000000", first.toString()).exitCode()).isZero();
    Path spool = base.resolve("file-conf/flotilla-db1-spool/prefetch");
    assertThat(spool.resolve("000000010000000100000003")).exists();

    // The launcher serves a prefetched segment without starting a JVM: it moves the file into place.
    Path next = base.resolve("f1");
    Processes.Result r = Processes.run(List.of(Cli.launcher().toString(), "wal-fetch", "--config", fileConfig.toString(),
        "000000010000000100000001", next.toString()), null, null);
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(Files.mismatch(next, segs.get(1))).isEqualTo(-1);
    assertThat(spool.resolve("000000010000000100000001")).doesNotExist();
  }

  private static void awaitLog(Path log, String text) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!Files.exists(log) || !Files.readString(log).contains(text)) {
      assertThat(System.nanoTime()).as("agent log never said '" + text + "'").isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  private static String serverLog() {
    try {
      String log = Files.readString(pg.dataDir().getParent().resolve("server.log"));
      return log.substring(Math.max(0, log.length() - 3000));
    } catch (Exception e) {
      return "(no log)";
    }
  }

  private static String psql(String sql) {
    return pg.psql("postgres", sql);
  }

  private static void awaitArchived(String segment) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
    while (psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver").compareTo(segment) < 0) {
      assertThat(System.nanoTime()).as("segment " + segment + " not archived; server log:\n" + serverLog()).isLessThan(deadline);
      Thread.sleep(250);
    }
  }

  @Test
  void shouldLoseNoSegmentWhileTheRepositoryIsDownOrTheAgentIsKilled() throws Exception {
    pg.psql("postgres", "CREATE TABLE IF NOT EXISTS churn (v text)");
    String first = psql("SELECT pg_walfile_name(pg_switch_wal())");
    awaitArchived(first);

    // The repository goes away: archive_command fails, PostgreSQL keeps the WAL.
    s3.goOffline();
    String during = null;
    for (int i = 0; i < 3; i++) {
      pg.psql("postgres", "INSERT INTO churn SELECT md5(i::text) FROM generate_series(1, 20000) i");
      during = psql("SELECT pg_walfile_name(pg_switch_wal())");
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (Long.parseLong(psql("SELECT failed_count FROM pg_stat_archiver")) == 0) {
      assertThat(System.nanoTime()).isLessThan(deadline);
      Thread.sleep(250);
    }
    assertThat(Files.exists(pg.dataDir().resolve("pg_wal/" + during))).isTrue();

    // It comes back: everything is pushed.
    s3.goOnline();
    // New WAL wakes PostgreSQL's archiver, which otherwise waits a minute after repeated failures.
    pg.psql("postgres", "INSERT INTO churn VALUES ('wake up')");
    psql("SELECT pg_switch_wal()");
    awaitArchived(during);

    // The agent daemon pushes ahead; kill it with SIGKILL in the middle of its work.
    ProcessBuilder pb = new ProcessBuilder(Processes.asPostgres(List.of(Cli.launcher().toString(), "agent", "--verbose", "--config", s3Config.toString())))
        .redirectErrorStream(true).redirectOutput(base.resolve("agent.log").toFile());
    pb.environment().put("AWS_ACCESS_KEY_ID", S3Server.ACCESS_KEY);
    pb.environment().put("AWS_SECRET_ACCESS_KEY", S3Server.SECRET_KEY);
    Process agent = pb.start();
    Path agentLog = base.resolve("agent.log");
    awaitLog(agentLog, "WAL service running");
    String last = null;
    for (int i = 0; i < 6; i++) {
      pg.psql("postgres", "INSERT INTO churn SELECT md5(i::text) FROM generate_series(1, 20000) i");
      last = psql("SELECT pg_walfile_name(pg_switch_wal())");
      if (i == 3) {
        awaitLog(agentLog, " archived"); // it has pushed ahead at least once
        new ProcessBuilder("pkill", "-9", "-f", "io.flotilla.agent.cli.Flotilla agent").start().waitFor();
      }
    }
    agent.waitFor(30, TimeUnit.SECONDS);
    awaitArchived(last);

    // The daemon did push ahead before it was killed; PostgreSQL's own wal-push calls did the rest.
    assertThat(Files.readString(base.resolve("agent.log"))).contains("WAL service running").containsPattern("wal=[0-9A-F]{24} (already )?archived");

    Cli.Result verify = Cli.run(s3Config, "verify", "--wal", "--json");
    assertThat(verify.exitCode()).as(verify.toString()).isZero();
    JsonNode report = new ObjectMapper().readTree(verify.stdout());
    JsonNode tl1 = report.get("timelines").get(0);
    assertThat(tl1.get("missing")).isEmpty();
    assertThat(tl1.get("last").asText().compareTo(last)).isGreaterThanOrEqualTo(0);

    Cli.Result status = Cli.run(s3Config, "status", "--json");
    assertThat(status.exitCode()).as(status.toString()).isZero();
    JsonNode st = new ObjectMapper().readTree(status.stdout());
    assertThat(st.get("lastArchivedWal").asText().compareTo(last)).isGreaterThanOrEqualTo(0);
    assertThat(st.get("archiveFailedCount").asLong()).isPositive();
  }

  @Test
  void shouldNameTheGapWhenASegmentIsMissing() throws Exception {
    Path dir = Files.createDirectories(base.resolve("gap"));
    Path repo = dir.resolve("repo");
    Path config = Fixtures.config(dir.resolve("conf"), pg, "file://" + repo, null);
    for (int i = 0; i < 3; i++) {
      assertThat(Cli.run(config, "wal-push", segment(String.format("0000000100000002000000%02X", i), 20 + i).toString()).exitCode()).isZero();
    }
    assertThat(Cli.run(config, "verify", "--wal").exitCode()).isZero();
    Files.delete(repo.resolve("hosts/db1/wal/00000001/000000010000000200000001.zst.gpg"));
    Cli.Result gap = Cli.run(config, "verify", "--wal");
    assertThat(gap.exitCode()).isEqualTo(8);
    assertThat(gap.stdout()).contains("MISSING 000000010000000200000001");
  }
}
