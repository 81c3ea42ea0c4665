package io.flotilla.config;

import java.net.URI;

/**
 * @param name the repository's name, used by {@code --repo}
 * @param url file:///path or s3://bucket/prefix
 * @param endpoint S3 endpoint override (any S3-compatible server), or null for AWS
 * @param region S3 region
 * @param pathStyle S3 path-style addressing (default on when an endpoint is given)
 */
public record RepositoryConfig(String name, URI url, URI endpoint, String region, boolean pathStyle) {

  public String scheme() {
    return url.getScheme();
  }
}
