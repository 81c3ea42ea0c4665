package io.flotilla.manifest;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What one backup holds. Written last, as {@code manifest.json} next to the objects it lists; a
 * backup without it does not exist. Never holds a secret.
 *
 * @param format manifest format version
 * @param flotillaVersion version of the agent that wrote it
 * @param backupId the backup's id (sorts by time)
 * @param host the host it belongs to
 * @param kind {@code logical} for pg_dump backups
 * @param label manual, daily, weekly or monthly
 * @param postgresVersion server_version of the source cluster
 * @param postgresVersionNum server_version_num of the source cluster
 * @param startedAt when the backup started
 * @param finishedAt when the last object was durable
 * @param codecs codecs every object passed through
 * @param databases the databases in this backup
 * @param objects every object with its sizes and SHA-256
 * @param physical what a physical backup adds (null for logical backups)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Manifest(
    int format,
    String flotillaVersion,
    String backupId,
    String host,
    String kind,
    String label,
    String postgresVersion,
    int postgresVersionNum,
    String startedAt,
    String finishedAt,
    Codecs codecs,
    List<DatabaseEntry> databases,
    List<ObjectEntry> objects,
    Physical physical) {

  public static final int FORMAT = 1;

  /**
   * What a physical (base) backup adds.
   *
   * @param timeline timeline the backup started on
   * @param startLsn LSN pg_backup_start returned
   * @param stopLsn LSN pg_backup_stop returned
   * @param startWal segment holding startLsn: recovery needs WAL from here
   * @param stopWal segment holding stopLsn: the backup is consistent once WAL up to it is replayed
   * @param walSegmentSize wal_segment_size in bytes
   * @param dataChecksums whether the cluster has page checksums (and they were checked)
   * @param backupLabel the backup_label pg_backup_stop returned, written into the restored PGDATA
   * @param tablespaceMap the tablespace_map pg_backup_stop returned (empty without tablespaces)
   * @param tablespaces the tablespaces and the archive object of each
   * @param files every file copied, with its size and SHA-256
   * @param badPages pages whose checksum did not match while reading
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Physical(int timeline, String startLsn, String stopLsn, String startWal, String stopWal, long walSegmentSize,
      boolean dataChecksums, String backupLabel, String tablespaceMap, List<Tablespace> tablespaces, List<FileEntry> files,
      List<BadPage> badPages) {}

  /** @param oid tablespace oid (0 for the main data directory); @param location its directory; @param object archive key */
  public record Tablespace(long oid, String location, String object) {}

  /** @param tablespace oid (0 = PGDATA); @param path relative to its tablespace root; @param size bytes; @param sha256 hex */
  public record FileEntry(long tablespace, String path, long size, String sha256) {}

  /** @param tablespace oid; @param path relative path; @param block block number; @param detail what was found */
  public record BadPage(long tablespace, String path, long block, String detail) {}

  /** @param compression zstd, gzip or none; @param level its level; @param encryption openpgp-aes256 or none */
  public record Codecs(String compression, int level, String encryption) {}

  /**
   * @param name database name
   * @param sizeBytes pg_database_size at backup time
   * @param encoding server encoding of the database
   * @param collate its LC_COLLATE
   * @param ctype its LC_CTYPE
   * @param object key (relative to the backup) of its dump
   */
  public record DatabaseEntry(String name, long sizeBytes, String encoding, String collate, String ctype, String object) {}

  /**
   * @param key key relative to the backup's folder
   * @param type database or globals
   * @param format what the plain bytes are: pg_dump-custom or sql
   * @param storedBytes size as stored
   * @param plainBytes size before compression and encryption
   * @param sha256 SHA-256 (hex) of the stored bytes
   */
  public record ObjectEntry(String key, String type, String format, long storedBytes, long plainBytes, String sha256) {}

  public Instant started() {
    return Instant.parse(startedAt);
  }

  public Instant finished() {
    return Instant.parse(finishedAt);
  }

  public Duration duration() {
    return Duration.between(started(), finished());
  }

  public long plainBytes() {
    return objects.stream().mapToLong(ObjectEntry::plainBytes).sum();
  }

  public long storedBytes() {
    return objects.stream().mapToLong(ObjectEntry::storedBytes).sum();
  }

  public Optional<DatabaseEntry> database(String name) {
    return databases.stream().filter(d -> d.name().equals(name)).findFirst();
  }

  public Optional<ObjectEntry> object(String key) {
    return objects.stream().filter(o -> o.key().equals(key)).findFirst();
  }

  public Optional<ObjectEntry> globals() {
    return objects.stream().filter(o -> "globals".equals(o.type())).findFirst();
  }
}
