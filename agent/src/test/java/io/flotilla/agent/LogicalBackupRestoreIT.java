package io.flotilla.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.testkit.PostgresCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Backup, list and restore against a real PostgreSQL cluster and a file:// repository. */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class LogicalBackupRestoreIT {
  private static PostgresCluster pg;
  private static Path config;
  private static Path repo;

  @TempDir
  static Path dir;

  @BeforeAll
  static void start() throws Exception {
    pg = PostgresCluster.start();
    repo = dir.resolve("repo");
    config = Fixtures.config(dir.resolve("conf"), pg, "file://" + repo, null);
    Fixtures.createFidelityDatabase(pg, "app");
  }

  @AfterAll
  static void stop() throws Exception {
    if (pg != null) {
      pg.close();
    }
  }

  @Test
  void shouldRestoreADatabaseEqualToTheOriginal() {
    Cli.Result backup = Cli.run(config, "backup", "--database", "app");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    String id = backup.lastLine();
    assertThat(id).matches("\\d{8}T\\d{6}Z-[0-9a-f]{4}");

    Cli.Result restore = Cli.run(config, "restore", "--backup", id, "--database", "app", "--target-database", "app_restored");
    assertThat(restore.exitCode()).as(restore.toString()).isZero();

    Map<String, String> original = Fixtures.fingerprint(pg, "app");
    assertThat(original.get("large objects")).startsWith("5:");
    assertThat(original.get("sequences")).contains("sales.invoice_no=1036");
    assertThat(Fixtures.fingerprint(pg, "app_restored")).isEqualTo(original);
    assertThat(Fixtures.databasesLike(pg, "flotilla_restore_")).isEmpty();
  }

  @Test
  void shouldListCompleteBackupsNewestFirstWithSizes() throws Exception {
    String first = Cli.run(config, "backup", "--database", "app", "--label", "daily").lastLine();
    String second = Cli.run(config, "backup", "--database", "app", "--label", "weekly").lastLine();

    Cli.Result list = Cli.run(config, "list", "--json");
    assertThat(list.exitCode()).as(list.toString()).isZero();
    JsonNode arr = new ObjectMapper().readTree(list.stdout());
    int i1 = -1;
    int i2 = -1;
    for (int i = 0; i < arr.size(); i++) {
      if (arr.get(i).get("id").asText().equals(first)) {
        i1 = i;
        assertThat(arr.get(i).get("label").asText()).isEqualTo("daily");
        assertThat(arr.get(i).get("databases").get(0).asText()).isEqualTo("app");
        assertThat(arr.get(i).get("plainBytes").asLong()).isGreaterThan(arr.get(i).get("storedBytes").asLong());
      }
      if (arr.get(i).get("id").asText().equals(second)) {
        i2 = i;
      }
    }
    assertThat(i2).isGreaterThanOrEqualTo(0).isLessThan(i1);

    Cli.Result text = Cli.run(config, "list");
    assertThat(text.stdout()).contains(first, second, "daily", "weekly");
  }

  @Test
  void shouldCarryNonAsciiDatabaseNames() {
    pg.psql("postgres", "CREATE DATABASE \"données été\"");
    pg.psql("données été", "CREATE TABLE \"café\" (\"naïve\" text); INSERT INTO \"café\" VALUES ('crème brûlée');");

    Cli.Result backup = Cli.run(config, "backup", "--database", "données été");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    Cli.Result restore = Cli.run(config, "restore", "--backup", "latest", "--database", "données été", "--target-database", "données copie");
    assertThat(restore.exitCode()).as(restore.toString()).isZero();

    assertThat(pg.psql("données copie", "SELECT \"naïve\" FROM \"café\"")).isEqualTo("crème brûlée");
  }

  @Test
  void shouldRefuseToOverwriteANonEmptyDatabaseUnlessForced() {
    String id = Cli.run(config, "backup", "--database", "app").lastLine();
    pg.psql("postgres", "CREATE DATABASE occupied");
    pg.psql("occupied", "CREATE TABLE keep_me (v text); INSERT INTO keep_me VALUES ('precious');");

    Cli.Result refused = Cli.run(config, "restore", "--backup", id, "--database", "app", "--target-database", "occupied");
    assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(9);
    assertThat(refused.stderr()).contains("occupied").contains("--force");
    assertThat(pg.psql("occupied", "SELECT v FROM keep_me")).isEqualTo("precious");

    Cli.Result forced = Cli.run(config, "restore", "--backup", id, "--database", "app", "--target-database", "occupied", "--force");
    assertThat(forced.exitCode()).as(forced.toString()).isZero();
    assertThat(Fixtures.fingerprint(pg, "occupied")).isEqualTo(Fixtures.fingerprint(pg, "app"));
  }

  @Test
  void shouldRestoreWithParallelJobs() {
    String id = Cli.run(config, "backup", "--database", "app").lastLine();
    Cli.Result restore = Cli.run(config, "restore", "--backup", id, "--database", "app", "--target-database", "app_parallel", "--jobs", "2",
        "--temp-dir", dir.resolve("stage").toString());
    assertThat(restore.exitCode()).as(restore.toString()).isZero();
    assertThat(Fixtures.fingerprint(pg, "app_parallel")).isEqualTo(Fixtures.fingerprint(pg, "app"));
    assertThat(dir.resolve("stage")).isEmptyDirectory();
  }

  @Test
  void shouldRestoreOnlyTheNamedTables() {
    String id = Cli.run(config, "backup", "--database", "app").lastLine();
    Cli.Result restore = Cli.run(config, "restore", "--backup", id, "--database", "app", "--target-database", "app_tables",
        "--table", "Über_schema.Größe", "--table", "public.all_types");
    assertThat(restore.exitCode()).as(restore.toString()).isZero();

    String tables = pg.psql("app_tables", "SELECT string_agg(format('%I.%I', schemaname, tablename), ',' ORDER BY 1) FROM pg_tables"
        + " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')");
    assertThat(tables).isEqualTo("public.all_types,\"Über_schema\".\"Größe\"");
    Map<String, String> original = Fixtures.fingerprint(pg, "app");
    Map<String, String> restored = Fixtures.fingerprint(pg, "app_tables");
    assertThat(restored.get("rows public.all_types")).isEqualTo(original.get("rows public.all_types"));
    assertThat(restored.get("rows \"Über_schema\".\"Größe\"")).isEqualTo(original.get("rows \"Über_schema\".\"Größe\""));
    // the serial column's sequence continues where the original left off
    assertThat(pg.psql("app_tables", "SELECT last_value FROM public.all_types_id_seq")).isEqualTo(pg.psql("app", "SELECT last_value FROM public.all_types_id_seq"));

    Cli.Result missing = Cli.run(config, "restore", "--backup", id, "--database", "app", "--target-database", "app_nothing", "--table", "public.nope");
    assertThat(missing.exitCode()).isEqualTo(6);
    assertThat(missing.stderr()).contains("public.nope");
    assertThat(Fixtures.databasesLike(pg, "app_nothing")).isEmpty();
  }

  @Test
  void shouldPickTheNewestBackupBeforeATime() throws Exception {
    pg.psql("postgres", "CREATE DATABASE timeline");
    pg.psql("timeline", "CREATE TABLE v (n int); INSERT INTO v VALUES (1);");
    String first = Cli.run(config, "backup", "--database", "timeline").lastLine();
    Thread.sleep(1100);
    String between = java.time.Instant.now().toString();
    Thread.sleep(1100);
    pg.psql("timeline", "UPDATE v SET n = 2;");
    String second = Cli.run(config, "backup", "--database", "timeline").lastLine();
    assertThat(second).isNotEqualTo(first);

    Cli.Result before = Cli.run(config, "restore", "--backup", "latest", "--before", between, "--database", "timeline", "--target-database", "timeline_then");
    assertThat(before.exitCode()).as(before.toString()).isZero();
    assertThat(pg.psql("timeline_then", "SELECT n FROM v")).isEqualTo("1");

    Cli.Result latest = Cli.run(config, "restore", "--database", "timeline", "--target-database", "timeline_now");
    assertThat(latest.exitCode()).as(latest.toString()).isZero();
    assertThat(pg.psql("timeline_now", "SELECT n FROM v")).isEqualTo("2");
  }

  @Test
  void shouldBackUpAllDatabasesWithGlobalsAndRestoreRoles() {
    pg.psql("postgres", "CREATE ROLE report_reader LOGIN PASSWORD 'not-in-logs' CONNECTION LIMIT 7");
    Cli.Result backup = Cli.run(config, "backup", "--all");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    assertThat(backup.stdout()).contains("globals");
    String id = backup.lastLine();
    pg.psql("postgres", "DROP ROLE report_reader");

    Cli.Result globals = Cli.run(config, "restore", "--backup", id, "--globals");
    assertThat(globals.exitCode()).as(globals.toString()).isZero();
    assertThat(pg.psql("postgres", "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'report_reader'")).isEqualTo("7");

    Cli.Result list = Cli.run(config, "list");
    assertThat(list.stdout()).contains(id).contains("+globals").contains("app").contains("postgres");
  }

  @Test
  void shouldKeepSecretsOutOfManifests() throws Exception {
    String id = Cli.run(config, "backup", "--database", "app").lastLine();
    String manifest = Files.readString(repo.resolve("hosts/db1/backups/" + id + "/manifest.json"));
    assertThat(manifest).doesNotContain(Fixtures.PASSPHRASE).contains("\"sha256\"").contains("\"postgresVersion\"");
    assertThat(Files.readString(repo.resolve("flotilla.repo.json"))).doesNotContain(Fixtures.PASSPHRASE);
  }
}
