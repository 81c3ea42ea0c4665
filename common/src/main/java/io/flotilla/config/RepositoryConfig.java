package io.flotilla.config;

import java.net.URI;
import java.nio.file.Path;

/**
 * @param name the repository's name, used by {@code --repo}
 * @param url file:///path, s3://bucket/prefix, rsync://[user@]host[:port]/module/path or
 *     ssh://[user@]host[:port]/path
 * @param endpoint S3 endpoint override (any S3-compatible server), or null for AWS
 * @param region S3 region
 * @param pathStyle S3 path-style addressing (default on when an endpoint is given)
 * @param rsync what rsync:// and ssh:// repositories need beyond the URL (never null)
 */
public record RepositoryConfig(String name, URI url, URI endpoint, String region, boolean pathStyle, RsyncOptions rsync) {

  public RepositoryConfig {
    rsync = rsync == null ? RsyncOptions.DEFAULT : rsync;
  }

  /** A file:// or s3:// repository. */
  public RepositoryConfig(String name, URI url, URI endpoint, String region, boolean pathStyle) {
    this(name, url, endpoint, region, pathStyle, RsyncOptions.DEFAULT);
  }

  public String scheme() {
    return url.getScheme();
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
