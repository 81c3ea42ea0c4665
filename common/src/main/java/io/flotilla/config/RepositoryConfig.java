package io.flotilla.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * @param name the repository's name, used by {@code --repo}
 * @param url file:///path, s3://bucket/prefix, rsync://host[:port]/module/path or ssh://user@host/path
 * @param endpoint S3 endpoint override (any S3-compatible server), or null for AWS
 * @param region S3 region
 * @param pathStyle S3 path-style addressing (default on when an endpoint is given)
 * @param rsync what rsync:// and ssh:// repositories need beyond the URL (never null)
 * @param replicateFrom the repository this one is a replica of (null: not a replica)
 * @param interval how often the agent daemon replicates into this replica (null: continuously)
 * @param storageClasses S3 storage class per backup label, with the key {@code default} for
 *     everything else (WAL, descriptors); empty: the bucket's default
 * @param sse S3 server-side encryption: {@code AES256}, {@code aws:kms}, or null for none
 * @param kmsKeyId the KMS key for {@code sse: aws:kms} (null: the account's default key)
 */
public record RepositoryConfig(String name, URI url, URI endpoint, String region, boolean pathStyle, RsyncOptions rsync,
    String replicateFrom, Duration interval, Map<String, String> storageClasses, String sse, String kmsKeyId) {

  public RepositoryConfig {
    rsync = rsync == null ? RsyncOptions.DEFAULT : rsync;
    storageClasses = storageClasses == null ? Map.of() : Map.copyOf(storageClasses);
  }

  /** A file:// or s3:// repository that is not a replica and uses the bucket's storage defaults. */
  public RepositoryConfig(String name, URI url, URI endpoint, String region, boolean pathStyle) {
    this(name, url, endpoint, region, pathStyle, RsyncOptions.DEFAULT, null, null, Map.of(), null, null);
  }

  /** An rsync:// or ssh:// repository. */
  public RepositoryConfig(String name, URI url, URI endpoint, String region, boolean pathStyle, RsyncOptions rsync) {
    this(name, url, endpoint, region, pathStyle, rsync, null, null, Map.of(), null, null);
  }

  /** A repository with replication or S3 storage settings. */
  public RepositoryConfig(String name, URI url, URI endpoint, String region, boolean pathStyle, String replicateFrom, Duration interval,
      Map<String, String> storageClasses, String sse, String kmsKeyId) {
    this(name, url, endpoint, region, pathStyle, RsyncOptions.DEFAULT, replicateFrom, interval, storageClasses, sse, kmsKeyId);
  }

  public String scheme() {
    return url.getScheme();
  }

  public boolean isReplica() {
    return replicateFrom != null;
  }

  /** The storage class for objects of a backup labelled {@code label} (null label: WAL and the like); null: the bucket's default. */
  public String storageClass(String label) {
    String c = label == null ? null : storageClasses.get(label);
    return c != null ? c : storageClasses.get("default");
  }

  /**
   * @param passwordFile rsync daemon password (first line; the file must not be readable by others),
   *     or null to use the RSYNC_PASSWORD environment variable
   * @param sshKeyFile private key for ssh://, or null for the user's ssh config and agent
   * @param sshKnownHostsFile known_hosts pinning the peer's host key for ssh://, or null for the
   *     user's known_hosts
   * @param spoolDirectory where one object at a time is staged on its way to or from the peer, or
   *     null for the system temporary directory
   * @param bandwidthLimit upload and download limit in KiB/s (rsync's --bwlimit), 0 for none
   */
  public record RsyncOptions(Path passwordFile, Path sshKeyFile, Path sshKnownHostsFile, Path spoolDirectory, int bandwidthLimit) {
    public static final RsyncOptions DEFAULT = new RsyncOptions(null, null, null, null, 0);
  }
}
