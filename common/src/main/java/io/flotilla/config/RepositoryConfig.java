package io.flotilla.config;

import java.net.URI;
import java.time.Duration;
import java.util.Map;

/**
 * @param name the repository's name, used by {@code --repo}
 * @param url file:///path or s3://bucket/prefix
 * @param endpoint S3 endpoint override (any S3-compatible server), or null for AWS
 * @param region S3 region
 * @param pathStyle S3 path-style addressing (default on when an endpoint is given)
 * @param replicateFrom the repository this one is a replica of (null: not a replica)
 * @param interval how often the agent daemon replicates into this replica (null: continuously)
 * @param storageClasses S3 storage class per backup label, with the key {@code default} for
 *     everything else (WAL, descriptors); empty: the bucket's default
 * @param sse S3 server-side encryption: {@code AES256}, {@code aws:kms}, or null for none
 * @param kmsKeyId the KMS key for {@code sse: aws:kms} (null: the account's default key)
 */
public record RepositoryConfig(String name, URI url, URI endpoint, String region, boolean pathStyle, String replicateFrom, Duration interval,
    Map<String, String> storageClasses, String sse, String kmsKeyId) {

  public RepositoryConfig {
    storageClasses = storageClasses == null ? Map.of() : Map.copyOf(storageClasses);
  }

  /** A repository that is not a replica and uses the bucket's storage defaults. */
  public RepositoryConfig(String name, URI url, URI endpoint, String region, boolean pathStyle) {
    this(name, url, endpoint, region, pathStyle, null, null, Map.of(), null, null);
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
}
