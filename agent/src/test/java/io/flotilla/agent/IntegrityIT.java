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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Damaged objects, wrong passphrases, and restoring by hand with gpg, zstd and pg_restore. */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class IntegrityIT {
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

  private static Path object(String id) {
    return repo.resolve("hosts/db1/backups/" + id + "/db/app.dump.zst.gpg");
  }

  @Test
  void shouldNameTheCorruptObjectAndRefuseToRestoreIt() throws Exception {
    String good = Cli.run(config, "backup", "--database", "app").lastLine();
    String bad = Cli.run(config, "backup", "--database", "app").lastLine();
    Path damaged = object(bad);
    try (RandomAccessFile f = new RandomAccessFile(damaged.toFile(), "rw")) {
      long middle = f.length() / 2;
      f.seek(middle);
      int b = f.read();
      f.seek(middle);
      f.write(b ^ 0x01);
    }

    Cli.Result verify = Cli.run(config, "verify", "--backup", bad);
    assertThat(verify.exitCode()).as(verify.toString()).isEqualTo(8);
    assertThat(verify.stdout()).contains("BAD hosts/db1/backups/" + bad + "/db/app.dump.zst.gpg").contains("SHA-256");
    assertThat(verify.stderr()).contains("db/app.dump.zst.gpg");

    Cli.Result all = Cli.run(config, "verify", "--json");
    assertThat(all.exitCode()).isEqualTo(8);
    JsonNode report = new ObjectMapper().readTree(all.stdout());
    assertThat(report.get("sound").asBoolean()).isFalse();
    for (JsonNode b : report.get("backups")) {
      assertThat(b.get("sound").asBoolean()).as(b.toString()).isEqualTo(!b.get("id").asText().equals(bad));
    }
    assertThat(Cli.run(config, "verify", "--backup", good).exitCode()).isZero();

    Cli.Result restore = Cli.run(config, "restore", "--backup", bad, "--database", "app", "--target-database", "from_damaged");
    assertThat(restore.exitCode()).as(restore.toString()).isEqualTo(8);
    assertThat(restore.stderr()).contains("app.dump.zst.gpg");
    assertThat(Fixtures.databasesLike(pg, "from_damaged")).isEmpty();
    assertThat(Fixtures.databasesLike(pg, "flotilla_restore_")).isEmpty();
  }

  @Test
  void shouldRefuseAWrongPassphraseWithoutTouchingTheRepository() throws Exception {
    String id = Cli.run(config, "backup", "--database", "app").lastLine();
    Path wrong = Fixtures.config(dir.resolve("wrong"), pg, "file://" + repo, null, "not the passphrase");
    long objectsBefore;
    try (var s = Files.walk(repo)) {
      objectsBefore = s.count();
    }

    for (String[] args : List.of(new String[] {"list"}, new String[] {"backup", "--database", "app"},
        new String[] {"restore", "--backup", id, "--database", "app", "--target-database", "never"})) {
      Cli.Result r = Cli.run(wrong, args);
      assertThat(r.exitCode()).as(r.toString()).isEqualTo(7);
      assertThat(r.stderr().strip()).contains("wrong passphrase").doesNotContain("not the passphrase").doesNotContain("Exception");
      assertThat(r.stderr().strip().lines()).hasSize(1);
    }
    try (var s = Files.walk(repo)) {
      assertThat(s.count()).isEqualTo(objectsBefore);
    }
    assertThat(Fixtures.databasesLike(pg, "never")).isEmpty();
  }

  @Test
  void shouldRestoreByHandWithGpgZstdAndPgRestore() throws Exception {
    String id = Cli.run(config, "backup", "--database", "app").lastLine();
    Path obj = object(id);
    JsonNode manifest = new ObjectMapper().readTree(repo.resolve("hosts/db1/backups/" + id + "/manifest.json").toFile());
    String recorded = manifest.get("objects").get(0).get("sha256").asText();
    assertThat(Processes.run(List.of("sha256sum", obj.toString()), null, null).stdout()).startsWith(recorded);

    Path gnupg = Files.createDirectories(dir.resolve("gnupg"));
    Processes.run(List.of("chmod", "700", gnupg.toString()), null, null).orThrow();
    pg.psql("postgres", "CREATE DATABASE by_hand TEMPLATE template0");
    // Exactly the pipeline docs/manual-restore.md gives.
    String pipeline = "set -o pipefail; export GNUPGHOME=" + gnupg + "; gpg --batch --quiet --pinentry-mode loopback --passphrase-file " + dir.resolve("conf/passphrase")
        + " --decrypt " + obj + " | zstd -d | " + pg.bin().resolve("pg_restore") + " --exit-on-error -d " + pg.url("by_hand");
    Processes.Result r = Processes.run(List.of("bash", "-c", pipeline), null, null);
    Processes.run(List.of("gpgconf", "--homedir", gnupg.toString(), "--kill", "all"), null, null);
    assertThat(r.exitCode()).as(r.stderr()).isZero();

    assertThat(Fixtures.fingerprint(pg, "by_hand")).isEqualTo(Fixtures.fingerprint(pg, "app"));
  }
}
