package io.flotilla.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.testkit.PostgresCluster;
import io.flotilla.testkit.S3Server;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The agent killed with SIGKILL in the middle of a backup: the partial backup is never listed or
 * restorable, and the next backup run removes what it left (temporary files, unfinished multipart
 * uploads, the manifest-less folder).
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class InterruptedBackupIT {
  private static PostgresCluster pg;
  private static S3Server s3;

  @TempDir
  static Path dir;

  @BeforeAll
  static void start() throws Exception {
    pg = PostgresCluster.start();
    s3 = S3Server.start("backups");
    pg.psql("postgres", "CREATE DATABASE big");
    // ~300 MB of text that compresses about 2x: the dump takes a few seconds, long enough to kill.
    pg.psql("big", "CREATE TABLE t AS SELECT i, md5(i::text) || md5((i * 7)::text) || md5((i * 13)::text) AS a, random() AS r"
        + " FROM generate_series(1, 2000000) i");
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

  private static Process launch(Path config, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Cli.launcher().toString()));
    cmd.addAll(List.of(args));
    cmd.addAll(List.of("--config", config.toString()));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("launch.log").toFile());
    pb.environment().put("AWS_ACCESS_KEY_ID", S3Server.ACCESS_KEY);
    pb.environment().put("AWS_SECRET_ACCESS_KEY", S3Server.SECRET_KEY);
    return pb.start();
  }

  /** Kills the launcher's JVM (and only it: pg_dump is its child and dies of a broken pipe). */
  private static void killMidway(Process p, BooleanSupplier midway) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!midway.getAsBoolean()) {
      assertThat(p.isAlive()).as("backup finished before it could be interrupted: " + Files.readString(dir.resolve("launch.log"))).isTrue();
      assertThat(System.nanoTime()).isLessThan(deadline);
      Thread.sleep(20);
    }
    // The launcher execs java, so this is the JVM itself.
    new ProcessBuilder("kill", "-9", Long.toString(p.pid())).start().waitFor();
    p.waitFor(30, TimeUnit.SECONDS);
  }

  @Test
  void shouldNeverListAFileBackupInterruptedByKill() throws Exception {
    Path repo = dir.resolve("file-repo");
    Path config = Fixtures.config(dir.resolve("file-conf"), pg, "file://" + repo, null);
    Path backups = repo.resolve("hosts/db1/backups");

    Process p = launch(config, "backup", "--database", "big");
    killMidway(p, () -> tempFileBytes(backups) > 4 * 1024 * 1024);
    List<String> partial = folders(backups);
    assertThat(partial).hasSize(1);
    String killedId = partial.get(0);

    assertThat(Cli.run(config, "list").stdout()).doesNotContain(killedId).contains("no complete backups");
    Cli.Result restore = Cli.run(config, "restore", "--backup", killedId, "--database", "big", "--target-database", "never");
    assertThat(restore.exitCode()).isEqualTo(6);

    Cli.Result next = Cli.run(config, "backup", "--database", "big");
    assertThat(next.exitCode()).as(next.toString()).isZero();
    assertThat(folders(backups)).containsExactly(next.lastLine());
    assertThat(tempFileBytes(backups)).isZero();
  }

  @Test
  void shouldNeverListAnS3BackupInterruptedByKillAndAbortItsUpload() throws Exception {
    Path config = Fixtures.s3Config(dir.resolve("s3-conf"), pg, s3, "backups");
    try (S3Client client = S3Client.builder().endpointOverride(URI.create(s3.endpoint())).region(Region.US_EAST_1).forcePathStyle(true)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(S3Server.ACCESS_KEY, S3Server.SECRET_KEY))).build()) {
      Process p = launch(config, "backup", "--database", "big");
      killMidway(p, () -> !client.listMultipartUploads(b -> b.bucket("backups")).uploads().isEmpty());
      assertThat(client.listMultipartUploads(b -> b.bucket("backups")).uploads()).isNotEmpty();

      assertThat(Cli.run(config, "list").stdout()).contains("no complete backups");

      Cli.Result next = Cli.run(config, "backup", "--database", "big");
      assertThat(next.exitCode()).as(next.toString()).isZero();
      assertThat(client.listMultipartUploads(b -> b.bucket("backups")).uploads()).isEmpty();
      List<String> keys = client.listObjectsV2(b -> b.bucket("backups").prefix("flotilla/hosts/db1/backups/")).contents().stream()
          .map(S3Object::key).toList();
      assertThat(keys).isNotEmpty().allMatch(k -> k.startsWith("flotilla/hosts/db1/backups/" + next.lastLine() + "/"));
      assertThat(Cli.run(config, "list").stdout()).contains(next.lastLine());
    }
  }

  private static long tempFileBytes(Path root) {
    if (!Files.isDirectory(root)) {
      return 0;
    }
    try (Stream<Path> s = Files.walk(root)) {
      return s.filter(f -> f.getFileName().toString().startsWith(".flotilla-tmp-")).mapToLong(f -> f.toFile().length()).sum();
    } catch (Exception e) {
      return 0; // a file vanished while walking
    }
  }

  private static List<String> folders(Path backups) throws Exception {
    try (Stream<Path> s = Files.list(backups)) {
      return s.map(f -> f.getFileName().toString()).sorted().toList();
    }
  }
}
