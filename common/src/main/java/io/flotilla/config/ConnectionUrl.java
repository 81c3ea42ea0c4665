package io.flotilla.config;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/** Small helpers over libpq connection URLs (postgresql://[userinfo@]hosts[/dbname][?params]). */
public final class ConnectionUrl {
  private ConnectionUrl() {}

  /** Returns the URL with its database replaced by {@code database} (any characters allowed). */
  public static String withDatabase(String url, String database) {
    int schemeEnd = url.indexOf("://");
    if (schemeEnd < 0) {
      throw new IllegalArgumentException("not a postgresql:// URL");
    }
    int authorityStart = schemeEnd + 3;
    int query = url.indexOf('?', authorityStart);
    int slash = url.indexOf('/', authorityStart);
    if (query >= 0 && slash > query) {
      slash = -1;
    }
    String head = slash >= 0 ? url.substring(0, slash) : (query >= 0 ? url.substring(0, query) : url);
    String tail = query >= 0 ? url.substring(query) : "";
    String encoded = URLEncoder.encode(database, StandardCharsets.UTF_8).replace("+", "%20");
    return head + "/" + encoded + tail;
  }

  /** Replaces a password in the userinfo part, and a password= parameter, with ***. */
  public static String redact(String url) {
    if (url == null) {
      return null;
    }
    String out = url.replaceAll("(://[^:/@?]*):[^@/?]*@", "$1:***@");
    return out.replaceAll("(?i)(password=)[^&]*", "$1***");
  }
}
