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
 * @param kind {@code logical} for pg_dump backups (with or without volumes), {@code physical} for base
 *     backups, {@code volume} for backups of volumes only
 * @param label manual, daily, weekly or monthly
 * @param postgresVersion server_version of the source cluster
 * @param postgresVersionNum server_version_num of the source cluster
 * @param startedAt when the backup started
 * @param finishedAt when the last object was durable
 * @param codecs codecs every object passed through
 * @param databases the databases in this backup
 * @param objects every object with its sizes and SHA-256
 * @param physical what a physical backup adds (null for logical backups)
 * @param volumes the directory archives in this backup (empty when none)
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
    Physical physical,
    @JsonInclude(JsonInclude.Include.NON_EMPTY) List<Volume> volumes) {

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

  /**
   * One volume (directory) archived in this backup.
   *
   * @param name the configured volume name
   * @param root the directory that was archived
   * @param object key (relative to the backup) of its tar archive; for an incremental backup it holds
   *     only the files whose {@code backup} is null
   * @param base for an incremental backup, the backup it was compared against (null for a full one)
   * @param exclude the exclude globs in force
   * @param files every entry of the tree as it was, the root ({@code .}) first
   * @param changed regular files that changed while being read: stored as read, not as they are now
   * @param skipped entries that are not files, directories or symlinks (sockets, FIFOs, devices), left out
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Volume(String name, String root, String object, String base, List<String> exclude, List<VolumeFile> files,
      List<ChangedFile> changed, List<String> skipped) {
    /** Ids of other backups whose archives hold some of this volume's files. */
    public java.util.SortedSet<String> referencedBackups() {
      java.util.SortedSet<String> out = new java.util.TreeSet<>();
      files.stream().map(VolumeFile::backup).filter(java.util.Objects::nonNull).forEach(out::add);
      return out;
    }
  }

  /**
   * One entry of a volume.
   *
   * @param path relative to the volume root, '/'-separated; {@code .} for the root itself
   * @param type file, dir or symlink
   * @param size bytes stored (files)
   * @param mode permission bits in octal, e.g. {@code 0644}
   * @param mtime modification time, ISO-8601 with the file system's precision
   * @param uid owner's user id
   * @param gid owner's group id
   * @param sha256 SHA-256 (hex) of the stored contents (files)
   * @param target where a symlink points, as written
   * @param backup for files stored by an earlier backup (unchanged since), that backup's id; null when
   *     the contents are in this backup's archive
   * @param changed true when the file changed while being read
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record VolumeFile(String path, String type, Long size, String mode, String mtime, Integer uid, Integer gid, String sha256,
      String target, String backup, Boolean changed) {
    public static final String FILE = "file";
    public static final String DIR = "dir";
    public static final String SYMLINK = "symlink";

    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean isFile() {
      return FILE.equals(type);
    }

    public int permissions() {
      return Integer.parseInt(mode, 8);
    }

    public boolean changedWhileRead() {
      return Boolean.TRUE.equals(changed);
    }
  }

  /** @param path relative path; @param detail what changed (size, mtime, bytes read) */
  public record ChangedFile(String path, String detail) {}

  @Override
  public List<Volume> volumes() {
    return volumes == null ? List.of() : volumes;
  }

  public Optional<Volume> volume(String name) {
    return volumes().stream().filter(v -> v.name().equals(name)).findFirst();
  }

  /** Ids of other backups this one needs for a restore (incremental volume archives). */
  public java.util.SortedSet<String> referencedBackups() {
    java.util.SortedSet<String> out = new java.util.TreeSet<>();
    volumes().forEach(v -> out.addAll(v.referencedBackups()));
    out.remove(backupId);
    return out;
  }

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
