package io.flotilla.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Loading agent.yaml: a valid file becomes records; a bad one fails naming the key. */
class ConfigLoaderTest {
  private static final String VALID = """
      host: db1
      postgres:
        url: postgresql://postgres@127.0.0.1:5432/postgres
      repositories:
        - name: primary
          url: file:///var/lib/flotilla/repo
      encryption:
        passphrase-file: /etc/flotilla/passphrase
      compression:
        algorithm: zstd
        level: 3
      """;

  @TempDir
  Path dir;

  private HostConfig load(String yaml) throws IOException {
    Path file = dir.resolve("agent.yaml");
    Files.writeString(file, yaml);
    return ConfigLoader.load(file);
  }

  private FlotillaException loadFailure(String yaml) {
    return catchThrowableOfType(FlotillaException.class, () -> load(yaml));
  }

  @Test
  void shouldLoadValidConfig() throws IOException {
    HostConfig config = load(VALID);

    assertThat(config.host()).isEqualTo("db1");
    assertThat(config.postgres()).isEqualTo(new PostgresConfig("postgresql://postgres@127.0.0.1:5432/postgres", null, null));
    assertThat(config.repositories()).containsExactly(
        new RepositoryConfig("primary", URI.create("file:///var/lib/flotilla/repo"), null, "us-east-1", false));
    assertThat(config.primaryRepository().scheme()).isEqualTo("file");
    assertThat(config.repository("primary")).contains(config.primaryRepository());
    assertThat(config.repository("other")).isEmpty();
    assertThat(config.encryption()).isEqualTo(new EncryptionConfig("aes-256", Path.of("/etc/flotilla/passphrase")));
    assertThat(config.encryption().enabled()).isTrue();
    assertThat(config.compression()).isEqualTo(new CompressionConfig("zstd", 3, 0));
  }

  @Test
  void shouldLoadS3RepositoryWithEndpointAndPathStyleByDefault() throws IOException {
    HostConfig config = load(VALID.replace("""
            url: file:///var/lib/flotilla/repo
        """, """
            url: s3://backups/fleet
            endpoint: http://minio.internal:9000
          - name: offsite
            url: s3://offsite-backups
            region: eu-west-1
        """));

    assertThat(config.repositories()).containsExactly(
        new RepositoryConfig("primary", URI.create("s3://backups/fleet"), URI.create("http://minio.internal:9000"), "us-east-1", true),
        new RepositoryConfig("offsite", URI.create("s3://offsite-backups"), null, "eu-west-1", false));
  }

  @Test
  void shouldResolveRelativePathsAgainstConfigDirectory() throws IOException {
    HostConfig config = load(VALID.replace("/etc/flotilla/passphrase", "secrets/passphrase"));

    assertThat(config.encryption().passphraseFile()).isEqualTo(dir.toAbsolutePath().resolve("secrets/passphrase"));
  }

  @Test
  void shouldLoadRsyncDaemonAndSshRepositoriesWithTheirKeys() throws IOException {
    String repositories = """
          - name: peer
            url: rsync://backup@peer.example:8873/flotilla/eu/db
            password-file: rsync.password
            spool-directory: /var/spool/flotilla
            bandwidth-limit: 4096
          - name: far
            url: ssh://backup@far.example:2222/srv/flotilla
            ssh-key-file: /etc/flotilla/id_ed25519
            ssh-known-hosts-file: /etc/flotilla/known_hosts
        """;
    String yaml = VALID.replace("  - name: primary\n    url: file:///var/lib/flotilla/repo\n", repositories);
    assertThat(yaml).as("test setup").isNotEqualTo(VALID);

    HostConfig config = load(yaml);

    assertThat(config.repositories()).containsExactly(
        new RepositoryConfig("peer", URI.create("rsync://backup@peer.example:8873/flotilla/eu/db"), null, "us-east-1", false,
            new RepositoryConfig.RsyncOptions(dir.resolve("rsync.password"), null, null, Path.of("/var/spool/flotilla"), 4096)),
        new RepositoryConfig("far", URI.create("ssh://backup@far.example:2222/srv/flotilla"), null, "us-east-1", false,
            new RepositoryConfig.RsyncOptions(null, Path.of("/etc/flotilla/id_ed25519"), Path.of("/etc/flotilla/known_hosts"), null, 0)));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      unknown top-level key     | 'compression:'                        | 'compresion:'                          | compresion
      unknown key in a list     | '    url: file:///var/lib/flotilla/repo' | '    url: file:///var/lib/flotilla/repo\n    bucket: x' | repositories[0].bucket
      bad url scheme            | 'file:///var/lib/flotilla/repo'       | 'ftp://backup.example/repo'            | repositories[0].url
      relative file url         | 'file:///var/lib/flotilla/repo'       | 'file:repo'                            | repositories[0].url
      missing host              | 'host: db1'                           | '# no host'                            | host
      bad host                  | 'host: db1'                           | 'host: db1/../etc'                     | host
      non-number level          | 'level: 3'                            | 'level: fast'                          | compression.level
      fractional level          | 'level: 3'                            | 'level: 3.5'                           | compression.level
      level out of range        | 'level: 3'                            | 'level: 22'                            | compression.level
      unknown algorithm         | 'algorithm: zstd'                     | 'algorithm: lz4'                       | compression.algorithm
      not a postgres url        | 'url: postgresql://'                  | 'url: mysql://'                        | postgres.url
      unknown cipher            | 'passphrase-file:'                    | 'cipher: des\n  passphrase-file:'      | encryption.cipher
      rsync url without module  | 'file:///var/lib/flotilla/repo'       | 'rsync://backup.example'               | repositories[0].url
      rsync url with password   | 'file:///var/lib/flotilla/repo'       | 'rsync://u:secret@backup.example/m/p'  | repositories[0].url
      ssh url without host      | 'file:///var/lib/flotilla/repo'       | 'ssh:///srv/flotilla'                  | repositories[0].url
      ssh url at the root       | 'file:///var/lib/flotilla/repo'       | 'ssh://u@backup.example/'              | repositories[0].url
      rsync url escaping        | 'file:///var/lib/flotilla/repo'       | 'rsync://backup.example/m/../etc'      | repositories[0].url
      password file for file    | '    url: file:///var/lib/flotilla/repo' | '    url: file:///var/lib/flotilla/repo\n    password-file: /x' | repositories[0].password-file
      ssh key for rsync daemon  | '    url: file:///var/lib/flotilla/repo' | '    url: rsync://h/m\n    ssh-key-file: /x' | repositories[0].ssh-key-file
      negative bandwidth limit  | '    url: file:///var/lib/flotilla/repo' | '    url: rsync://h/m\n    bandwidth-limit: -1' | repositories[0].bandwidth-limit
      """)
  void shouldRejectBadConfigNamingTheKey(String what, String replaced, String replacement, String key) {
    String yaml = VALID.replace(replaced, replacement.replace("\\n", "\n"));
    assertThat(yaml).as("test setup").isNotEqualTo(VALID);

    FlotillaException failure = loadFailure(yaml);

    assertThat(failure).as(what).isNotNull();
    assertThat(failure.code()).isEqualTo(ErrorCode.CONFIG);
    assertThat(failure.getMessage()).startsWith("config key " + key + ": ");
  }

  @Test
  void shouldRejectDuplicateRepositoryNames() {
    FlotillaException duplicate = loadFailure(VALID.replace("""
            url: file:///var/lib/flotilla/repo
        """, """
            url: file:///var/lib/flotilla/repo
          - name: primary
            url: file:///srv/other
        """));

    assertThat(duplicate.code()).isEqualTo(ErrorCode.CONFIG);
    assertThat(duplicate.getMessage()).startsWith("config key repositories[1].name: ").contains("'primary'");
  }

  @Test
  void shouldNameMissingFileAndHowToPointAtAnother() {
    FlotillaException failure = catchThrowableOfType(FlotillaException.class, () -> ConfigLoader.load(dir.resolve("missing.yaml")));

    assertThat(failure.code()).isEqualTo(ErrorCode.CONFIG);
    assertThat(failure.getMessage()).contains("missing.yaml").contains("--config").contains(ConfigLoader.CONFIG_ENV);
  }

  @Test
  void shouldRejectInvalidYaml() {
    FlotillaException failure = loadFailure("host: [db1\n");

    assertThat(failure.code()).isEqualTo(ErrorCode.CONFIG);
    assertThat(failure.getMessage()).contains("not valid YAML");
  }

  @Test
  void shouldApplyDefaultsWhenSectionsAreOmitted() throws IOException {
    HostConfig config = load("""
        host: db2
        postgres:
          url: postgres://backup@db2:5432/postgres
        repositories:
          - name: r
            url: file:///srv/repo
        """);

    assertThat(config.encryption()).isEqualTo(new EncryptionConfig("aes-256", null));
    assertThat(config.compression()).isEqualTo(new CompressionConfig("zstd", 3, 0));
    assertThat(config.repositories()).extracting(RepositoryConfig::name).isEqualTo(List.of("r"));
  }

  @Test
  void shouldLoadRetentionBlock() throws IOException {
    HostConfig config = load(VALID + """
        retention:
          keep-last: 2
          keep-daily: 7
          keep-weekly: 4
          keep-monthly: 12
          keep-yearly: 3
          recovery-window-days: 14
        """);

    assertThat(config.retention()).isEqualTo(new io.flotilla.retention.RetentionPolicy(2, 7, 4, 12, 3, 14));
  }

  @Test
  void shouldKeepEverythingWithoutRetentionBlock() throws IOException {
    assertThat(load(VALID).retention().keepsEverything()).isTrue();
  }

  @Test
  void shouldRejectMisspelledRetentionKeyNamingIt() {
    FlotillaException e = loadFailure(VALID + """
        retention:
          keep-dayly: 7
        """);

    assertThat(e.code()).isEqualTo(ErrorCode.CONFIG);
    assertThat(e.getMessage()).contains("retention.keep-dayly").contains("unknown key").contains("keep-daily");
  }

  @Test
  void shouldRejectNegativeRetentionCount() {
    FlotillaException e = loadFailure(VALID + """
        retention:
          keep-last: -1
        """);

    assertThat(e.code()).isEqualTo(ErrorCode.CONFIG);
    assertThat(e.getMessage()).contains("retention.keep-last");
  }

  private static final String REPLICATED = """
      host: db1
      postgres:
        url: postgresql://postgres@127.0.0.1:5432/postgres
      repositories:
        - name: primary
          url: file:///var/lib/flotilla/repo
        - name: east
          url: s3://east-backups/fleet
          replicate-from: primary
          storage-class: {default: STANDARD, monthly: GLACIER_IR}
          sse: aws:kms
          kms-key-id: arn:aws:kms:eu-west-1:123456789012:key/abc
        - name: west
          url: s3://west-backups/fleet
          replicate-from: east
          interval: 5m
          storage-class: STANDARD_IA
          sse: AES256
      """;

  @Test
  void shouldLoadReplicasWithStorageClassesAndServerSideEncryption() throws IOException {
    HostConfig config = load(REPLICATED);

    RepositoryConfig east = config.repository("east").orElseThrow();
    assertThat(config.primaryRepository().isReplica()).isFalse();
    assertThat(east.replicateFrom()).isEqualTo("primary");
    assertThat(east.interval()).isNull();
    assertThat(east.storageClass("monthly")).isEqualTo("GLACIER_IR");
    assertThat(east.storageClass("daily")).isEqualTo("STANDARD");
    assertThat(east.storageClass(null)).isEqualTo("STANDARD");
    assertThat(east.sse()).isEqualTo("aws:kms");
    assertThat(east.kmsKeyId()).isEqualTo("arn:aws:kms:eu-west-1:123456789012:key/abc");
    RepositoryConfig west = config.repository("west").orElseThrow();
    assertThat(west.replicateFrom()).isEqualTo("east");
    assertThat(west.interval()).isEqualTo(java.time.Duration.ofMinutes(5));
    assertThat(west.storageClass("monthly")).isEqualTo("STANDARD_IA");
    assertThat(west.sse()).isEqualTo("AES256");
    assertThat(west.kmsKeyId()).isNull();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      unknown source            | 'replicate-from: east'                | 'replicate-from: nowhere'              | repositories[2].replicate-from | nowhere
      replicating from itself   | 'replicate-from: east'                | 'replicate-from: west'                 | repositories[2].replicate-from | cycle
      a cycle of two            | 'url: file:///var/lib/flotilla/repo'  | 'url: file:///var/lib/flotilla/repo\n    replicate-from: west' | repositories[0].replicate-from | cycle
      interval without a source | 'url: file:///var/lib/flotilla/repo'  | 'url: file:///var/lib/flotilla/repo\n    interval: 5m' | repositories[0].interval | replicate-from
      bad interval              | 'interval: 5m'                        | 'interval: soon'                       | repositories[2].interval | duration
      unknown storage class     | 'monthly: GLACIER_IR'                 | 'monthly: FROZEN'                      | repositories[1].storage-class.monthly | FROZEN
      storage class on a file   | 'url: file:///var/lib/flotilla/repo'  | 'url: file:///var/lib/flotilla/repo\n    storage-class: STANDARD' | repositories[0].storage-class | s3://
      unknown sse               | 'sse: AES256'                         | 'sse: rot13'                           | repositories[2].sse | AES256
      kms key without kms       | 'sse: AES256'                         | 'sse: AES256\n    kms-key-id: k'       | repositories[2].kms-key-id | aws:kms
      """)
  void shouldRejectBadReplicationConfigNamingTheKey(String what, String replaced, String replacement, String key, String mentions) {
    String yaml = REPLICATED.replace(replaced, replacement.replace("\\n", "\n"));
    assertThat(yaml).as("test setup").isNotEqualTo(REPLICATED);

    FlotillaException failure = loadFailure(yaml);

    assertThat(failure).as(what).isNotNull();
    assertThat(failure.code()).isEqualTo(ErrorCode.CONFIG);
    assertThat(failure.getMessage()).startsWith("config key " + key + ": ").contains(mentions);
  }
}
