package io.flotilla.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The agent's host configuration, validated. Built only by {@link ConfigLoader}.
 *
 * @param host the host name used in the repository layout and in logs
 * @param postgres how to reach PostgreSQL and its tools
 * @param repositories where backups go; the first is the primary
 * @param encryption how stored objects are encrypted
 * @param compression how stored objects are compressed
 * @param lockDirectory where the per-host locks and the WAL spool (push markers, prefetched
 *     segments, archiver status) live
 * @param coordinator how to reach the coordinator (null: the agent runs alone)
 * @param retention what {@code flotilla expire} keeps
 * @param volumes directories backed up as tar archives
 */
public record HostConfig(
    String host,
    PostgresConfig postgres,
    List<RepositoryConfig> repositories,
    EncryptionConfig encryption,
    CompressionConfig compression,
    Path lockDirectory,
    AgentCoordinatorConfig coordinator,
    io.flotilla.retention.RetentionPolicy retention,
    List<VolumeConfig> volumes) {

  /** A config without volumes (hosts that back up databases only). */
  public HostConfig(String host, PostgresConfig postgres, List<RepositoryConfig> repositories, EncryptionConfig encryption,
      CompressionConfig compression, Path lockDirectory, AgentCoordinatorConfig coordinator, io.flotilla.retention.RetentionPolicy retention) {
    this(host, postgres, repositories, encryption, compression, lockDirectory, coordinator, retention, List.of());
  }

  /** The configured volume called {@code name}. */
  public Optional<VolumeConfig> volume(String name) {
    return volumes.stream().filter(v -> v.name().equals(name)).findFirst();
  }

  /** Local state of the WAL service: {@code <lock-directory>/flotilla-<host>-spool}. */
  public Path spoolDirectory() {
    return lockDirectory.resolve("flotilla-" + host + "-spool");
  }

  public RepositoryConfig primaryRepository() {
    return repositories.get(0);
  }

  /** The named repository, or the primary when {@code name} is null. */
  public Optional<RepositoryConfig> repository(String name) {
    if (name == null) {
      return Optional.of(primaryRepository());
    }
    return repositories.stream().filter(r -> r.name().equals(name)).findFirst();
  }
}
