package io.flotilla.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads and validates the agent's YAML configuration. Every option is read here, once, with its
 * default; a bad value fails at start-up with the key's path.
 */
public final class ConfigLoader {
  public static final String CONFIG_ENV = "FLOTILLA_CONFIG";
  public static final Path DEFAULT_PATH = Path.of("/etc/flotilla/agent.yaml");

  private ConfigLoader() {}

  /** The explicit path, else $FLOTILLA_CONFIG, else /etc/flotilla/agent.yaml. */
  public static Path resolvePath(Path explicit) {
    if (explicit != null) {
      return explicit;
    }
    String env = System.getenv(CONFIG_ENV);
    return env != null && !env.isBlank() ? Path.of(env) : DEFAULT_PATH;
  }

  public static HostConfig load(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new FlotillaException(ErrorCode.CONFIG, "config file " + file + " does not exist (use --config FILE or set " + CONFIG_ENV + ")");
    } catch (IOException e) {
      throw new FlotillaException(ErrorCode.CONFIG, "cannot read config file " + file + ": " + e.getMessage());
    }
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(text);
    } catch (IOException e) {
      String msg = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
      throw new FlotillaException(ErrorCode.CONFIG, "config file " + file + " is not valid YAML: " + msg);
    }
    if (root == null || root.isMissingNode() || root.isNull()) {
      throw new FlotillaException(ErrorCode.CONFIG, "config file " + file + " is empty");
    }
    return parse(new ConfigNode(root, ""), file.toAbsolutePath().getParent());
  }

  /** Reads a YAML file into a tree, with one-line errors naming the file. */
  static JsonNode readYaml(Path file, String what) {
    String text;
    try {
      text = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new FlotillaException(ErrorCode.CONFIG, what + " " + file + " does not exist");
    } catch (IOException e) {
      throw new FlotillaException(ErrorCode.CONFIG, "cannot read " + what + " " + file + ": " + e.getMessage());
    }
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(text);
    } catch (IOException e) {
      String msg = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
      throw new FlotillaException(ErrorCode.CONFIG, what + " " + file + " is not valid YAML: " + msg);
    }
    if (root == null || root.isMissingNode() || root.isNull()) {
      throw new FlotillaException(ErrorCode.CONFIG, what + " " + file + " is empty");
    }
    return root;
  }

  static HostConfig parse(ConfigNode root, Path baseDir) {
    root.onlyKeys(Set.of("host", "postgres", "repositories", "encryption", "compression", "lock-directory", "coordinator", "retention", "volumes"));
    String host = root.requiredString("host");
    if (!host.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,127}")) {
      throw root.error("host", "must be letters, digits, '.', '_' or '-' (it names a folder in the repository), got '" + host + "'");
    }

    ConfigNode pg = root.child("postgres");
    if (pg == null) {
      throw root.error("postgres", "is required (postgres.url at least)");
    }
    pg.onlyKeys(Set.of("url", "bin", "data-directory"));
    String url = pg.requiredString("url");
    if (!url.startsWith("postgresql://") && !url.startsWith("postgres://")) {
      throw pg.error("url", "must be a libpq URL starting with postgresql://");
    }
    Path bin = pg.has("bin") ? resolve(baseDir, pg.string("bin", null)) : null;
    if (bin != null && !Files.isDirectory(bin)) {
      throw pg.error("bin", "directory " + bin + " does not exist");
    }

    Path dataDirectory = pg.has("data-directory") ? resolve(baseDir, pg.string("data-directory", null)) : null;

    List<RepositoryConfig> repos = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (ConfigNode r : root.list("repositories")) {
      repos.add(repository(r, baseDir));
      if (!names.add(repos.get(repos.size() - 1).name())) {
        throw r.error("name", "repository name '" + repos.get(repos.size() - 1).name() + "' is used twice");
      }
    }
    if (repos.isEmpty()) {
      throw root.error("repositories", "at least one repository is required");
    }
    checkReplication(root.list("repositories"), repos);

    ConfigNode enc = root.child("encryption");
    EncryptionConfig encryption;
    if (enc == null) {
      encryption = new EncryptionConfig("aes-256", null);
    } else {
      enc.onlyKeys(Set.of("cipher", "passphrase-file"));
      String cipher = enc.string("cipher", "aes-256");
      if (!cipher.equals("aes-256") && !cipher.equals("none")) {
        throw enc.error("cipher", "must be aes-256 or none, got '" + cipher + "'");
      }
      encryption = new EncryptionConfig(cipher, enc.has("passphrase-file") ? resolve(baseDir, enc.string("passphrase-file", null)) : null);
    }

    ConfigNode comp = root.child("compression");
    CompressionConfig compression;
    if (comp == null) {
      compression = new CompressionConfig("zstd", 3, 0);
    } else {
      comp.onlyKeys(Set.of("algorithm", "level", "workers"));
      String algorithm = comp.string("algorithm", "zstd");
      int level;
      switch (algorithm) {
        case "zstd" -> level = comp.integer("level", 3, 1, 19);
        case "gzip" -> level = comp.integer("level", 6, 1, 9);
        case "none" -> level = 0;
        default -> throw comp.error("algorithm", "must be zstd, gzip or none, got '" + algorithm + "'");
      }
      // zstd worker threads default to none: multi-threaded zstd-jni streams have been seen to hang on
      // close (luben/zstd-jni#298, and once here), and one thread already outpaces pg_dump.
      compression = new CompressionConfig(algorithm, level, comp.integer("workers", 0, 0, 64));
    }
    Path lockDir = root.has("lock-directory") ? resolve(baseDir, root.string("lock-directory", null)) : Path.of(System.getProperty("java.io.tmpdir"));
    AgentCoordinatorConfig coordinator = null;
    ConfigNode co = root.child("coordinator");
    if (co != null) {
      co.onlyKeys(Set.of("url", "token-file", "heartbeat-seconds"));
      List<String> raws = co.strings("url");
      if (raws.isEmpty()) {
        throw co.error("url", "is required: the WebSocket URL of a coordinator member (or a list of them), like ws://coord-1:8420");
      }
      List<URI> urls = new ArrayList<>();
      for (String raw : raws) {
        URI coUrl;
        try {
          coUrl = new URI(raw);
        } catch (URISyntaxException e) {
          throw co.error("url", "not a valid URL: " + e.getMessage());
        }
        if (!("ws".equals(coUrl.getScheme()) || "wss".equals(coUrl.getScheme()) || "http".equals(coUrl.getScheme())
            || "https".equals(coUrl.getScheme())) || coUrl.getHost() == null) {
          throw co.error("url", "must look like ws://host:port (or http://host:port), got '" + raw + "'");
        }
        urls.add(coUrl);
      }
      Path tokenFile = resolve(baseDir, co.requiredString("token-file"));
      coordinator = new AgentCoordinatorConfig(List.copyOf(urls), tokenFile, co.integer("heartbeat-seconds", 10, 1, 3600));
    }
    ConfigNode ret = root.child("retention");
    io.flotilla.retention.RetentionPolicy retention = ret == null ? io.flotilla.retention.RetentionPolicy.KEEP_ALL : retention(ret);
    List<VolumeConfig> volumes = new ArrayList<>();
    for (ConfigNode v : root.list("volumes")) {
      VolumeConfig volume = volume(v);
      if (volumes.stream().anyMatch(o -> o.name().equals(volume.name()))) {
        throw v.error("name", "volume name '" + volume.name() + "' is used twice");
      }
      volumes.add(volume);
    }
    return new HostConfig(host, new PostgresConfig(url, bin, dataDirectory), List.copyOf(repos), encryption, compression, lockDir,
        coordinator, retention, List.copyOf(volumes));
  }

  /** One entry of {@code volumes:}. The path must be absolute here; whether it exists is checked when a backup runs. */
  static VolumeConfig volume(ConfigNode v) {
    v.onlyKeys(Set.of("name", "path", "exclude"));
    String name = v.requiredString("name");
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,127}")) {
      throw v.error("name", "must be letters, digits, '.', '_' or '-' (it names a file in the repository), got '" + name + "'");
    }
    String rawPath = v.requiredString("path");
    Path path = Path.of(rawPath);
    if (!path.isAbsolute()) {
      throw v.error("path", "must be an absolute directory, got '" + rawPath + "'");
    }
    List<String> exclude = v.strings("exclude");
    for (int i = 0; i < exclude.size(); i++) {
      try {
        java.nio.file.FileSystems.getDefault().getPathMatcher("glob:" + exclude.get(i));
      } catch (RuntimeException e) {
        throw v.error("exclude[" + i + "]", "not a valid glob: " + e.getMessage().lines().findFirst().orElse(""));
      }
      if (exclude.get(i).startsWith("/")) {
        throw v.error("exclude[" + i + "]", "patterns are relative to the volume's path: drop the leading '/' from '" + exclude.get(i) + "'");
      }
    }
    return new VolumeConfig(name, path.normalize(), List.copyOf(exclude));
  }

  /** A retention block sent as JSON (a coordinator's expire job), validated like the config file's. */
  public static io.flotilla.retention.RetentionPolicy retention(JsonNode json) {
    return json == null || json.isNull() ? io.flotilla.retention.RetentionPolicy.KEEP_ALL : retention(new ConfigNode(json, "retention"));
  }

  /** A retention block: keep-last, keep-daily, keep-weekly, keep-monthly, keep-yearly, recovery-window-days. */
  static io.flotilla.retention.RetentionPolicy retention(ConfigNode r) {
    r.onlyKeys(Set.of("keep-last", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly", "recovery-window-days"));
    return new io.flotilla.retention.RetentionPolicy(r.integer("keep-last", 0, 0, 100000), r.integer("keep-daily", 0, 0, 100000),
        r.integer("keep-weekly", 0, 0, 100000), r.integer("keep-monthly", 0, 0, 100000), r.integer("keep-yearly", 0, 0, 1000),
        r.integer("recovery-window-days", 0, 0, 100000));
  }

  static RepositoryConfig repository(ConfigNode r, Path baseDir) {
    r.onlyKeys(Set.of("name", "url", "endpoint", "region", "path-style", "password-file", "ssh-key-file", "ssh-known-hosts-file",
        "spool-directory", "bandwidth-limit", "replicate-from", "interval", "storage-class", "sse", "kms-key-id"));
    String name = r.requiredString("name");
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
      throw r.error("name", "must be letters, digits, '.', '_' or '-', got '" + name + "'");
    }
    String rawUrl = r.requiredString("url");
    URI url;
    try {
      url = new URI(rawUrl);
    } catch (URISyntaxException e) {
      throw r.error("url", "not a valid URL: " + e.getMessage());
    }
    String scheme = url.getScheme();
    if ("file".equals(scheme)) {
      if (url.getPath() == null || url.getPath().isEmpty() || !url.getPath().startsWith("/")) {
        throw r.error("url", "a file:// URL needs an absolute path, like file:///var/lib/flotilla/repo");
      }
    } else if ("s3".equals(scheme)) {
      if (url.getHost() == null || url.getHost().isEmpty()) {
        throw r.error("url", "an s3:// URL needs a bucket, like s3://bucket/prefix");
      }
    } else if ("rsync".equals(scheme) || "ssh".equals(scheme)) {
      checkRsyncUrl(r, url, rawUrl);
    } else {
      throw r.error("url", "scheme must be file://, s3://, rsync:// or ssh://, got '" + rawUrl + "'");
    }
    URI endpoint = null;
    if (r.has("endpoint")) {
      if (!"s3".equals(scheme)) {
        throw r.error("endpoint", "only applies to s3:// repositories");
      }
      try {
        endpoint = new URI(r.string("endpoint", null));
      } catch (URISyntaxException e) {
        throw r.error("endpoint", "not a valid URL: " + e.getMessage());
      }
      if (endpoint.getScheme() == null || endpoint.getHost() == null) {
        throw r.error("endpoint", "must look like http://host:port, got '" + endpoint + "'");
      }
    }
    String region = r.string("region", "us-east-1");
    boolean pathStyle = r.bool("path-style", endpoint != null);
    boolean rsync = "rsync".equals(scheme) || "ssh".equals(scheme);
    for (String key : List.of("password-file", "ssh-key-file", "ssh-known-hosts-file", "spool-directory", "bandwidth-limit")) {
      if (r.has(key) && !rsync) {
        throw r.error(key, "only applies to rsync:// and ssh:// repositories");
      }
    }
    if (r.has("password-file") && !"rsync".equals(scheme)) {
      throw r.error("password-file", "only applies to rsync:// repositories (ssh:// uses keys: ssh-key-file)");
    }
    for (String key : List.of("ssh-key-file", "ssh-known-hosts-file")) {
      if (r.has(key) && !"ssh".equals(scheme)) {
        throw r.error(key, "only applies to ssh:// repositories");
      }
    }
    RepositoryConfig.RsyncOptions options = new RepositoryConfig.RsyncOptions(optionalPath(r, "password-file", baseDir),
        optionalPath(r, "ssh-key-file", baseDir), optionalPath(r, "ssh-known-hosts-file", baseDir), optionalPath(r, "spool-directory", baseDir),
        r.integer("bandwidth-limit", 0, 0, 10_000_000));
    String replicateFrom = r.string("replicate-from", null);
    java.time.Duration interval = r.duration("interval");
    if (interval != null && replicateFrom == null) {
      throw r.error("interval", "only applies to a replica (a repository with replicate-from)");
    }
    if (interval != null && (interval.isNegative() || interval.isZero())) {
      throw r.error("interval", "must be positive, got '" + r.string("interval", null) + "'");
    }
    java.util.Map<String, String> classes = new java.util.LinkedHashMap<>();
    if (r.has("storage-class")) {
      if (!"s3".equals(scheme)) {
        throw r.error("storage-class", "only applies to s3:// repositories");
      }
      ConfigNode sc = r.isMapping("storage-class") ? r.child("storage-class") : null;
      if (sc == null) {
        classes.put("default", storageClass(r, "storage-class", r.string("storage-class", null)));
      } else {
        for (String label : sc.keys()) {
          classes.put(label, storageClass(sc, label, sc.string(label, null)));
        }
      }
    }
    String sse = r.string("sse", null);
    if (sse != null && !"s3".equals(scheme)) {
      throw r.error("sse", "only applies to s3:// repositories");
    }
    if (sse != null && !sse.equals("AES256") && !sse.equals("aws:kms")) {
      throw r.error("sse", "must be AES256 or aws:kms, got '" + sse + "'");
    }
    String kmsKeyId = r.string("kms-key-id", null);
    if (kmsKeyId != null && !"aws:kms".equals(sse)) {
      throw r.error("kms-key-id", "only applies with sse: aws:kms");
    }
    return new RepositoryConfig(name, url, endpoint, region, pathStyle, options, replicateFrom, interval, classes, sse, kmsKeyId);
  }

  private static Path optionalPath(ConfigNode r, String key, Path baseDir) {
    String value = r.string(key, null);
    if (value == null) {
      return null;
    }
    if (value.isBlank()) {
      throw r.error(key, "must be a path, got an empty value");
    }
    return resolve(baseDir, value);
  }

  /** rsync://[user@]host[:port]/module[/path] or ssh://[user@]host[:port]/path; never a password. */
  private static void checkRsyncUrl(ConfigNode r, URI url, String rawUrl) {
    String scheme = url.getScheme();
    String example = "rsync".equals(scheme) ? "rsync://backup@peer.example:873/module/flotilla" : "ssh://backup@peer.example:22/srv/flotilla";
    if (url.getHost() == null || url.getHost().isEmpty()) {
      throw r.error("url", "a " + scheme + ":// URL needs a host, like " + example + ", got '" + rawUrl + "'");
    }
    if (url.getRawUserInfo() != null && url.getRawUserInfo().contains(":")) {
      throw r.error("url", "must not hold a password (use " + ("rsync".equals(scheme) ? "password-file or RSYNC_PASSWORD" : "ssh keys: ssh-key-file")
          + ")");
    }
    if (url.getQuery() != null || url.getFragment() != null) {
      throw r.error("url", "a " + scheme + ":// URL takes no query or fragment, like " + example + ", got '" + rawUrl + "'");
    }
    String path = url.getPath() == null ? "" : url.getPath();
    String trimmed = path.replaceAll("^/+|/+$", "");
    if (trimmed.isEmpty()) {
      throw r.error("url", "rsync".equals(scheme) ? "an rsync:// URL needs a module, like " + example + ", got '" + rawUrl + "'"
          : "an ssh:// URL needs a directory other than /, like " + example + ", got '" + rawUrl + "'");
    }
    for (String segment : trimmed.split("/+")) {
      if (segment.equals("..") || segment.equals(".")) {
        throw r.error("url", "must not contain '.' or '..' segments, got '" + rawUrl + "'");
      }
    }
  }

  private static final Set<String> STORAGE_CLASSES = Set.of("STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA",
      "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE");

  private static String storageClass(ConfigNode node, String key, String value) {
    if (value == null || !STORAGE_CLASSES.contains(value)) {
      throw node.error(key, "must be an S3 storage class (" + String.join(", ", new java.util.TreeSet<>(STORAGE_CLASSES)) + "), got '" + value + "'");
    }
    return value;
  }

  /** replicate-from must name another repository, and following it must never come back. */
  private static void checkReplication(List<ConfigNode> nodes, List<RepositoryConfig> repos) {
    java.util.Map<String, String> from = new java.util.HashMap<>();
    repos.forEach(r -> from.put(r.name(), r.replicateFrom()));
    for (int i = 0; i < repos.size(); i++) {
      RepositoryConfig r = repos.get(i);
      if (r.replicateFrom() == null) {
        continue;
      }
      if (!from.containsKey(r.replicateFrom())) {
        throw nodes.get(i).error("replicate-from", "no repository named '" + r.replicateFrom() + "' (known: "
            + String.join(", ", repos.stream().map(RepositoryConfig::name).toList()) + ")");
      }
      List<String> path = new ArrayList<>(List.of(r.name()));
      String next = r.replicateFrom();
      while (next != null) {
        if (path.contains(next)) {
          path.add(next);
          throw nodes.get(i).error("replicate-from", "replication cycle: " + String.join(" <- ", path));
        }
        path.add(next);
        next = from.get(next);
      }
    }
  }

  static Path resolve(Path baseDir, String value) {
    Path p = Path.of(value);
    return p.isAbsolute() || baseDir == null ? p : baseDir.resolve(p);
  }
}
