package io.flotilla.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.testkit.PostgresCluster;
import io.flotilla.testkit.Processes;
import io.flotilla.testkit.RsyncDaemon;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A file repository replicated to a real rsync daemon on loopback (the 3-2-1 "other kind of storage,
 * off-site" copy): every object verified after copy, a second run copies nothing, and with the primary
 * gone the database and a volume are restored from the rsync peer alone.
 */
@Timeout(300)
class RsyncReplicationIT {
  private static Path base;
  private static PostgresCluster pg;
  private static RsyncDaemon peer;
  private static Path config;
  private static Path volume;

  @BeforeAll
  static void start() throws Exception {
    base = Files.createTempDirectory("flotilla-rsync-replication-");
    peer = RsyncDaemon.start();
    pg = PostgresCluster.start();
    volume = Files.createDirectories(base.resolve("uploads/img"));
    Files.writeString(volume.resolve("a.txt"), "first file\n");
    Files.write(volume.resolve("b.bin"), new byte[] {0, 1, 2, 3, (byte) 255});
    Path conf = Files.createDirectories(base.resolve("conf"));
    config = Fixtures.config(conf, pg, "file://" + base.resolve("repo"), null);
    Files.writeString(config, Files.readString(config).replace("encryption:\n", ""
        + "  - name: peer\n"
        + "    url: " + peer.url("repo", "flotilla") + "\n"
        + "    password-file: " + peer.passwordFile() + "\n"
        + "    replicate-from: primary\n"
        + "volumes:\n"
        + "  - {name: uploads, path: " + base.resolve("uploads") + "}\n"
        + "encryption:\n"));
    pg.psql("postgres", "CREATE DATABASE app");
    pg.psql("app", "CREATE TABLE t AS SELECT i, md5(i::text) AS h FROM generate_series(1, 5000) i");
  }

  @AfterAll
  static void stop() throws Exception {
    if (pg != null) {
      pg.close();
    }
    if (peer != null) {
      peer.close();
    }
    Processes.run(List.of("rm", "-rf", base.toString()), null, null);
  }

  @Test
  void shouldRestoreFromTheRsyncPeerWhenThePrimaryIsGone() throws Exception {
    Cli.Result backup = Cli.run(config, "backup", "--all", "--volumes");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    String id = backup.lastLine();

    Cli.Result first = Cli.run(config, "replicate", "--once", "--json");
    assertThat(first.exitCode()).as(first.toString()).isZero();
    assertThat(Files.exists(peer.module("repo").resolve("flotilla/hosts/db1/backups/" + id + "/manifest.json"))).isTrue();
    Cli.Result second = Cli.run(config, "replicate", "--once", "--json");
    assertThat(second.exitCode()).as(second.toString()).isZero();
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
    assertThat(json.readTree(first.stdout()).get(0).get("copiedObjects").asInt()).isGreaterThanOrEqualTo(3);
    assertThat(json.readTree(first.stdout()).get(0).get("backupsCompleted").toString()).contains(id);
    assertThat(json.readTree(second.stdout()).get(0).get("copiedObjects").asInt()).isZero();
    Cli.Result verify = Cli.run(config, "verify", "--repo", "peer", "--backup", id);
    assertThat(verify.exitCode()).as(verify.toString()).isZero();

    // The primary is lost: everything comes back from the rsync peer.
    Processes.run(List.of("rm", "-rf", base.resolve("repo").toString()), null, null).orThrow();
    Cli.Result db = Cli.run(config, "restore", "--repo", "peer", "--backup", id, "--database", "app", "--target-database", "app_back");
    assertThat(db.exitCode()).as(db.toString()).isZero();
    assertThat(pg.psql("app_back", "SELECT count(*) || ':' || md5(string_agg(h, ',' ORDER BY i)) FROM t"))
        .isEqualTo(pg.psql("app", "SELECT count(*) || ':' || md5(string_agg(h, ',' ORDER BY i)) FROM t"));
    Path to = base.resolve("restored");
    Cli.Result vol = Cli.run(config, "restore", "--repo", "peer", "--kind", "volume", "--volume", "uploads", "--backup", id, "--to",
        to.toString());
    assertThat(vol.exitCode()).as(vol.toString()).isZero();
    assertThat(Files.readString(to.resolve("img/a.txt"))).isEqualTo("first file\n");
    assertThat(Files.readAllBytes(to.resolve("img/b.bin"))).containsExactly(0, 1, 2, 3, (byte) 255);
  }
}
