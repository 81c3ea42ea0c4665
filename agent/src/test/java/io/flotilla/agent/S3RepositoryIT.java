package io.flotilla.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.testkit.PostgresCluster;
import io.flotilla.testkit.S3Server;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The same backup and restore through the real S3 protocol (S3Mock as a child JVM). */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class S3RepositoryIT {
  private static PostgresCluster pg;
  private static S3Server s3;
  private static Path config;

  @TempDir
  static Path dir;

  @BeforeAll
  static void start() throws Exception {
    pg = PostgresCluster.start();
    s3 = S3Server.start("backups");
    config = Fixtures.s3Config(dir.resolve("conf"), pg, s3, "backups");
    Fixtures.createFidelityDatabase(pg, "app");
    // Enough incompressible-ish data that the stored dump spans several 8 MiB multipart parts.
    pg.psql("app", "CREATE TABLE bulk AS SELECT i, md5(i::text) || md5((i * 31)::text) AS payload, random() AS r FROM generate_series(1, 400000) i");
  }

  @AfterAll
  static void stop() throws Exception {
    if (s3 != null) {
      s3.close();
    }
    if (pg != null) {
      pg.close();
    }
  }

  @Test
  void shouldBackUpToS3AndRestoreAnEqualDatabase() {
    Cli.Result backup = Cli.run(config, "backup", "--database", "app");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    String id = backup.lastLine();

    Cli.Result verify = Cli.run(config, "verify", "--backup", id);
    assertThat(verify.exitCode()).as(verify.toString()).isZero();
    assertThat(Cli.run(config, "list").stdout()).contains(id);

    Cli.Result restore = Cli.run(config, "restore", "--backup", id, "--database", "app", "--target-database", "app_from_s3");
    assertThat(restore.exitCode()).as(restore.toString()).isZero();
    assertThat(Fixtures.fingerprint(pg, "app_from_s3")).isEqualTo(Fixtures.fingerprint(pg, "app"));
  }

  @Test
  void shouldFailClearlyWhileS3IsDownAndWorkOnceItIsBack() throws Exception {
    Path viaRelay = Fixtures.config(dir.resolve("relay-conf"), pg, "s3://backups/flotilla", s3.outageEndpoint());
    s3.goOffline();
    try {
      Cli.Result down = Cli.run(viaRelay, "backup", "--database", "app");
      assertThat(down.exitCode()).as(down.toString()).isEqualTo(5);
      assertThat(down.stderr().strip().lines()).hasSize(1);
      assertThat(down.stderr()).contains("cannot reach");
    } finally {
      s3.goOnline();
    }
    Cli.Result up = Cli.run(viaRelay, "backup", "--database", "app");
    assertThat(up.exitCode()).as(up.toString()).isZero();
  }
}
