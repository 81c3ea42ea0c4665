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
    List<ObjectEntry> objects) {

  public static final int FORMAT = 1;

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
