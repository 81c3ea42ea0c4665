package io.flotilla.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.testkit.PostgresCluster;
import io.flotilla.testkit.Processes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Bad input gets one clear line on stderr and a distinct non-zero exit code, never a stack trace. */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class CliErrorsIT {
  private static PostgresCluster pg;
  private static Path config;

  @TempDir
  static Path dir;

  @BeforeAll
  static void start() throws Exception {
    pg = PostgresCluster.start();
    config = Fixtures.config(dir.resolve("conf"), pg, "file://" + dir.resolve("repo"), null);
    pg.psql("postgres", "CREATE DATABASE app");
  }

  @AfterAll
  static void stop() throws Exception {
    if (pg != null) {
      pg.close();
    }
  }

  private static void assertOneClearLine(Cli.Result r, int exit, String... fragments) {
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(exit);
    String err = r.stderr().strip();
    assertThat(err.lines()).as(r.toString()).hasSize(1);
    assertThat(err).startsWith("flotilla").doesNotContain("Exception").doesNotContain("\tat ").contains(fragments);
  }

  private static Path writeConfig(String name, String yaml) throws Exception {
    Path p = dir.resolve(name + ".yaml");
    Files.writeString(p, yaml);
    return p;
  }

  @Test
  void shouldExplainAnUnreachablePostgres() throws Exception {
    String yaml = Files.readString(config).replace(pg.url(), "postgresql://postgres@127.0.0.1:" + Processes.freePort() + "/postgres");
    assertOneClearLine(Cli.run(writeConfig("nopg", yaml), "backup", "--database", "app"), 4, "cannot connect to PostgreSQL");
  }

  @Test
  void shouldNameAnUnknownDatabase() {
    assertOneClearLine(Cli.run(config, "backup", "--database", "nope"), 6, "database 'nope' does not exist");
  }

  @Test
  void shouldNameAnUnknownBackupId() {
    assertThat(Cli.run(config, "backup", "--database", "app").exitCode()).isZero();
    assertOneClearLine(Cli.run(config, "restore", "--backup", "20200101T000000Z-dead", "--database", "app", "--target-database", "x"),
        6, "no backup '20200101T000000Z-dead'");
  }

  @Test
  void shouldNameAMissingRepository() throws Exception {
    String yaml = Files.readString(config).replace("file://" + dir.resolve("repo"), "file://" + dir.resolve("no-such-repo"));
    assertOneClearLine(Cli.run(writeConfig("norepo", yaml), "list"), 5, "does not exist");
  }

  @Test
  void shouldNameAnUnreachableS3Endpoint() throws Exception {
    String yaml = Files.readString(config).replace("url: file://" + dir.resolve("repo"),
        "url: s3://bucket/prefix\n    endpoint: http://127.0.0.1:" + Processes.freePort());
    Cli.Result r = Cli.run(writeConfig("nos3", yaml), "list");
    assertOneClearLine(r, 5, "cannot reach");
  }

  @Test
  void shouldNameTheBadConfigKey() throws Exception {
    String yaml = Files.readString(config);
    assertOneClearLine(Cli.run(writeConfig("badlevel", yaml.replace("level: 3", "level: high")), "list"), 3, "compression.level");
    assertOneClearLine(Cli.run(writeConfig("typo", yaml.replace("host: db1", "host: db1\nhots: db2")), "list"), 3, "config key hots");
    assertOneClearLine(Cli.run(writeConfig("scheme", yaml.replaceFirst("url: file://", "url: ftp://")), "list"), 3, "repositories[0].url");
    assertOneClearLine(Cli.run(writeConfig("yaml", "host: [unclosed\n"), "list"), 3, "not valid YAML");
    assertOneClearLine(Cli.run(dir.resolve("absent.yaml"), "list"), 3, "does not exist");
  }

  @Test
  void shouldAskForAPassphraseWhenThereIsNone() throws Exception {
    String yaml = Files.readString(config).replaceAll("(?s)encryption:\\n  passphrase-file: [^\\n]*\\n", "");
    assertOneClearLine(Cli.run(writeConfig("nopass", yaml), "backup", "--database", "app"), 7, "no passphrase");
  }

  @Test
  void shouldRejectContradictoryOptions() {
    assertOneClearLine(Cli.run(config, "backup", "--all", "--database", "app"), 2, "either --all or --database");
    assertOneClearLine(Cli.run(config, "backup", "--database", "app", "--label", "hourly"), 2, "--label");
    assertOneClearLine(Cli.run(config, "restore", "--database", "app"), 2, "--target-database");
  }
}
