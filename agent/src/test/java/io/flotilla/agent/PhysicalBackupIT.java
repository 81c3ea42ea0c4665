package io.flotilla.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.testkit.PostgresCluster;
import io.flotilla.testkit.Processes;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Physical base backups: tablespaces, every file's digest, bad pages named, restorable by hand with gpg, zstd and tar. */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PhysicalBackupIT {
  private static Path base;
  private static PostgresCluster pg;
  private static Path config;
  private static Path repo;

  @BeforeAll
  static void start() throws Exception {
    System.setProperty("flotilla.launcher", Cli.launcher().toString());
    base = Files.createTempDirectory("flotilla-phys-");
    repo = base.resolve("repo");
    Path conf = Files.createDirectories(base.resolve("conf"));
    String archive = Cli.launcher() + " wal-push --config " + conf.resolve("agent.yaml") + " %p";
    pg = PostgresCluster.start("archive_mode = on", "archive_command = '" + archive + "'");
    config = Fixtures.config(conf, pg, "file://" + repo, null);
    Files.writeString(config, Files.readString(config).replace("  bin: ", "  data-directory: " + pg.dataDir() + "\n  bin: "));
    Files.createDirectories(base.resolve("tablespace"));
    if (Processes.isRoot()) {
      Processes.run(List.of("chown", "-R", "postgres:postgres", base.toString()), null, null).orThrow();
      Processes.run(List.of("chmod", "755", base.toString()), null, null).orThrow();
    }
    pg.psql("postgres", "CREATE TABLESPACE fast LOCATION '" + base.resolve("tablespace") + "'");
    pg.psql("postgres", "CREATE DATABASE app");
    pg.psql("app", "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 20000) i;"
        + " CREATE TABLE elsewhere (id int, v text) TABLESPACE fast; INSERT INTO elsewhere SELECT i, 'ts ' || i FROM generate_series(1, 5000) i;");
  }

  @AfterAll
  static void stop() throws Exception {
    if (pg != null) {
      pg.close();
    }
    Processes.run(List.of("rm", "-rf", base.toString()), null, null);
  }

  @Test
  @Order(1)
  void shouldBackUpEveryTablespaceAndRestoreByHand() throws Exception {
    Cli.Result backup = Cli.run(config, "backup", "--kind", "physical", "--json");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    assertThat(backup.stderr()).doesNotContain("invalid page checksum");
    JsonNode m = new ObjectMapper().readTree(backup.stdout());
    String id = m.get("backupId").asText();
    // PGDATA in two parallel parts, plus the tablespace
    assertThat(m.get("physical").get("tablespaces")).hasSize(3);
    assertThat(m.get("physical").get("badPages")).isEmpty();
    assertThat(m.get("physical").get("dataChecksums").asBoolean()).isTrue();

    Cli.Result verify = Cli.run(config, "verify", "--backup", id);
    assertThat(verify.exitCode()).as(verify.toString()).isZero();

    JsonNode manifest = new ObjectMapper().readTree(repo.resolve("hosts/db1/backups/" + id + "/manifest.json").toFile());
    JsonNode pgVersion = null;
    for (JsonNode f : manifest.get("physical").get("files")) {
      if (f.get("path").asText().equals("PG_VERSION") && f.get("tablespace").asLong() == 0) {
        pgVersion = f;
      }
    }
    assertThat(pgVersion).isNotNull();
    assertThat(pgVersion.get("size").asLong()).isEqualTo(Files.size(pg.dataDir().resolve("PG_VERSION")));

    // Exactly what docs/manual-restore.md says for a physical backup: gpg | zstd -d | tar -x, then backup_label from the manifest.
    Path byHand = Files.createDirectories(base.resolve("by-hand"));
    Path gnupg = Files.createDirectories(base.resolve("gnupg"));
    Processes.run(List.of("chmod", "700", gnupg.toString()), null, null).orThrow();
    String pipeline = "set -o pipefail; export GNUPGHOME=" + gnupg + "; for part in base base-2; do gpg --batch --quiet --pinentry-mode loopback"
        + " --passphrase-file " + base.resolve("conf/passphrase") + " --decrypt " + repo.resolve("hosts/db1/backups/" + id) + "/$part.tar.zst.gpg"
        + " | zstd -d | tar -xf - -C " + byHand + " || exit 1; done";
    Processes.Result r = Processes.run(List.of("bash", "-c", pipeline), null, null);
    Processes.run(List.of("gpgconf", "--homedir", gnupg.toString(), "--kill", "all"), null, null);
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(Files.readString(byHand.resolve("PG_VERSION"))).isEqualTo(Files.readString(pg.dataDir().resolve("PG_VERSION")));
    assertThat(byHand.resolve("global/pg_control")).exists();
    try (var wal = Files.list(byHand.resolve("pg_wal"))) {
      assertThat(wal.map(p -> p.getFileName().toString()).toList()).containsExactly("archive_status"); // no WAL in a base backup
    }
    assertThat(byHand.resolve("postmaster.pid")).doesNotExist();
  }

  @Test
  @Order(2) // it damages a page: the clean backup above must run first
  void shouldNameAPageWhoseChecksumDoesNotMatch() throws Exception {
    String relation = pg.psql("app", "SELECT pg_relation_filepath('t')");
    pg.stopServer();
    Path file = pg.dataDir().resolve(relation);
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(3L * 8192 + 4000); // inside block 3, past the page header
      f.write(new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
    }
    pg.startServer();

    Cli.Result backup = Cli.run(config, "backup", "--kind", "physical", "--json");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    assertThat(backup.stderr()).contains("invalid page checksum in " + relation + " block 3");
    JsonNode bad = new ObjectMapper().readTree(backup.stdout()).get("physical").get("badPages");
    assertThat(bad).hasSize(1);
    assertThat(bad.get(0).get("path").asText()).isEqualTo(relation);
    assertThat(bad.get(0).get("block").asLong()).isEqualTo(3);
  }

  @Test
  @Order(3)
  void shouldFailClearlyWhenTheWalItNeedsIsNotArchived() throws Exception {
    String archive = pg.psql("postgres", "SHOW archive_command");
    pg.psql("postgres", "ALTER SYSTEM SET archive_command = 'false'");
    pg.psql("postgres", "SELECT pg_reload_conf()");
    try {
      Cli.Result backup = Cli.run(config, "backup", "--kind", "physical", "--archive-timeout", "3");
      assertThat(backup.exitCode()).as(backup.toString()).isEqualTo(5);
      assertThat(backup.stderr()).contains("was not archived within 3 s").contains("archive_command");
      assertThat(Cli.run(config, "list", "--json").stdout()).doesNotContain(backup.stdout().strip().isEmpty() ? "\u0000" : backup.stdout().strip());
    } finally {
      pg.psql("postgres", "ALTER SYSTEM SET archive_command = '" + archive.replace("'", "''") + "'");
      pg.psql("postgres", "SELECT pg_reload_conf()");
    }
  }

  @Test
  @Order(4)
  void shouldRefuseABackupOfAnotherPostgresVersion() throws Exception {
    Cli.Result backup = Cli.run(config, "backup", "--kind", "physical");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    Path manifest = repo.resolve("hosts/db1/backups/" + backup.lastLine() + "/manifest.json");
    String text = Files.readString(manifest).replaceAll("\"postgresVersionNum\" : \\d+", "\"postgresVersionNum\" : 160004");
    Path other = Files.createDirectories(repo.resolve("hosts/db1/backups/20200101T000000Z-beef"));
    Files.writeString(other.resolve("manifest.json"), text.replace(backup.lastLine(), "20200101T000000Z-beef"));

    Cli.Result restore = Cli.run(config, "restore", "--kind", "physical", "--backup", "20200101T000000Z-beef", "--pgdata", base.resolve("v16").toString());
    assertThat(restore.exitCode()).as(restore.toString()).isEqualTo(3);
    assertThat(restore.stderr()).contains("PostgreSQL 16").contains("postgres.bin");
    assertThat(base.resolve("v16")).doesNotExist();
  }
}
