package io.flotilla.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.config.CoordinatorConfig.Role;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.retention.RetentionPolicy;
import io.flotilla.schedule.CronSchedule;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Reads and validates a coordinator member's YAML configuration. Every option is read here, once,
 * with its default; a bad value fails at start-up with the key's path. Policies sent to the API go
 * through the same {@link #policy} check.
 */
public final class CoordinatorConfigLoader {
  public static final Path DEFAULT_PATH = Path.of("/etc/flotilla/coordinator.yaml");
  public static final Set<String> KINDS = Set.of("logical", "physical", "volume");
  public static final Set<String> LABELS = Set.of("manual", "daily", "weekly", "monthly", "yearly");

  private CoordinatorConfigLoader() {}

  public static CoordinatorConfig load(Path file) {
    return parse(new ConfigNode(ConfigLoader.readYaml(file, "config file"), ""), file.toAbsolutePath().getParent());
  }

  static CoordinatorConfig parse(ConfigNode root, Path baseDir) {
    root.onlyKeys(Set.of("cluster", "api", "tokens", "repositories", "policies", "notifications"));

    ConfigNode c = root.child("cluster");
    if (c == null) {
      throw root.error("cluster", "is required (cluster.members at least)");
    }
    c.onlyKeys(Set.of("member-name", "host", "port", "members", "name", "lease"));
    String host = c.string("host", "127.0.0.1");
    int port = c.integer("port", 5701, 1, 65535);
    List<String> members = c.strings("members");
    for (int i = 0; i < members.size(); i++) {
      if (!members.get(i).matches("[A-Za-z0-9._:\\[\\]-]+(:\\d{1,5})?")) {
        throw c.error("members[" + i + "]", "expected host:port, got '" + members.get(i) + "'");
      }
    }
    java.time.Duration lease = c.duration("lease");
    if (lease == null) {
      lease = java.time.Duration.ofSeconds(10);
    } else if (lease.toMillis() < 1000 || lease.toHours() > 1) {
      throw c.error("lease", "must be between 1s and 1h");
    }
    CoordinatorConfig.Cluster cluster = new CoordinatorConfig.Cluster(c.string("member-name", host + ":" + port), host, port,
        List.copyOf(members), c.string("name", "flotilla"), lease);

    ConfigNode a = root.child("api");
    CoordinatorConfig.Api api;
    if (a == null) {
      api = new CoordinatorConfig.Api("0.0.0.0", 8420);
    } else {
      a.onlyKeys(Set.of("host", "port"));
      api = new CoordinatorConfig.Api(a.string("host", "0.0.0.0"), a.integer("port", 8420, 0, 65535));
    }

    List<CoordinatorConfig.Token> tokens = new ArrayList<>();
    Set<String> tokenHashes = new HashSet<>();
    for (ConfigNode t : root.list("tokens")) {
      t.onlyKeys(Set.of("name", "role", "token-file", "sha256", "hosts"));
      String name = t.requiredString("name");
      Role role = role(t);
      String hash;
      if (t.has("token-file") == t.has("sha256")) {
        throw t.error("token-file", "give exactly one of token-file and sha256");
      }
      if (t.has("token-file")) {
        hash = sha256(readSecret(t, "token-file", baseDir));
      } else {
        hash = t.string("sha256", null).toLowerCase(Locale.ROOT);
        if (!hash.matches("[0-9a-f]{64}")) {
          throw t.error("sha256", "expected 64 hex digits (sha256sum of the token)");
        }
      }
      if (!tokenHashes.add(hash)) {
        throw t.error("name", "token of '" + name + "' is the same as an earlier one");
      }
      List<String> hosts = t.strings("hosts");
      tokens.add(new CoordinatorConfig.Token(name, role, hash, hosts.isEmpty() ? List.of("*") : List.copyOf(hosts)));
    }
    if (tokens.isEmpty()) {
      throw root.error("tokens", "at least one token is required (nothing but /health answers without one)");
    }

    List<RepositoryConfig> repos = new ArrayList<>();
    Set<String> repoNames = new HashSet<>();
    for (ConfigNode r : root.list("repositories")) {
      RepositoryConfig rc = ConfigLoader.repository(r, baseDir);
      if (!repoNames.add(rc.name())) {
        throw r.error("name", "repository name '" + rc.name() + "' is used twice");
      }
      repos.add(rc);
    }

    List<CoordinatorConfig.Policy> policies = new ArrayList<>();
    Set<String> policyNames = new HashSet<>();
    for (ConfigNode p : root.list("policies")) {
      CoordinatorConfig.Policy policy = policy(p, repoNames);
      if (!policyNames.add(policy.name())) {
        throw p.error("name", "policy name '" + policy.name() + "' is used twice");
      }
      policies.add(policy);
    }

    CoordinatorConfig.Notifications notifications = CoordinatorConfig.Notifications.NONE;
    ConfigNode n = root.child("notifications");
    if (n != null) {
      notifications = notifications(n, baseDir);
    }
    return new CoordinatorConfig(cluster, api, List.copyOf(tokens), List.copyOf(repos), List.copyOf(policies), notifications);
  }

  /** Validates a policy sent to the API (JSON), naming the bad key. */
  public static CoordinatorConfig.Policy policy(JsonNode json, Set<String> repositories) {
    if (json == null || !json.isObject()) {
      throw new FlotillaException(ErrorCode.USAGE, "expected a JSON object describing the policy");
    }
    try {
      return policy(new ConfigNode(json, ""), repositories);
    } catch (FlotillaException e) {
      throw new FlotillaException(ErrorCode.USAGE, e.getMessage().replaceFirst("^config key ", "policy key "));
    }
  }

  static CoordinatorConfig.Policy policy(ConfigNode p, Set<String> repositories) {
    p.onlyKeys(Set.of("name", "hosts", "schedule", "time-zone", "kind", "databases", "all", "label", "repository", "retention", "rpo",
        "rto", "volumes", "incremental"));
    String name = p.requiredString("name");
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
      throw p.error("name", "must be letters, digits, '.', '_' or '-' (it is part of job ids), got '" + name + "'");
    }
    List<String> hosts = p.strings("hosts");
    if (hosts.isEmpty()) {
      throw p.error("hosts", "is required: host name globs the policy applies to, like [\"db-*\"]");
    }
    ZoneId zone;
    try {
      zone = ZoneId.of(p.string("time-zone", "UTC"));
    } catch (DateTimeException e) {
      throw p.error("time-zone", "unknown time zone '" + p.string("time-zone", "") + "' (use a region like Europe/Berlin, or UTC)");
    }
    CronSchedule schedule = null;
    if (p.has("schedule")) {
      try {
        schedule = CronSchedule.parse(p.string("schedule", null), zone);
      } catch (FlotillaException e) {
        throw p.error("schedule", e.getMessage());
      }
    }
    String kind = p.string("kind", "logical");
    if (!KINDS.contains(kind)) {
      throw p.error("kind", "must be logical, physical or volume, got '" + kind + "'");
    }
    List<String> databases = p.strings("databases");
    boolean all = p.bool("all", false);
    List<String> volumes = p.strings("volumes");
    boolean incremental = p.bool("incremental", false);
    if ("volume".equals(kind)) {
      if (!databases.isEmpty()) {
        throw p.error("databases", "a volume policy backs up volumes: use volumes: [names] or all: true");
      }
      if (all == !volumes.isEmpty()) {
        throw p.error(all ? "all" : "volumes", all ? "give either all: true or volumes, not both" : "a volume policy needs volumes: [...] or all: true");
      }
    } else if (!volumes.isEmpty() || incremental) {
      throw p.error(volumes.isEmpty() ? "incremental" : "volumes", "only applies to kind: volume");
    }
    if ("logical".equals(kind) && all == !databases.isEmpty()) {
      throw p.error(all ? "all" : "databases", all ? "give either all: true or databases, not both" : "a logical policy needs databases: [...] or all: true");
    }
    if ("physical".equals(kind) && (all || !databases.isEmpty())) {
      throw p.error("databases", "a physical policy backs up the whole cluster: drop databases/all");
    }
    String label = p.string("label", "daily");
    if (!LABELS.contains(label)) {
      throw p.error("label", "must be one of manual, daily, weekly, monthly, yearly, got '" + label + "'");
    }
    String repository = p.string("repository", null);
    if (repository != null && !repositories.contains(repository)) {
      throw p.error("repository", "unknown repository '" + repository + "' (known: " + String.join(", ", new java.util.TreeSet<>(repositories)) + ")");
    }
    ConfigNode r = p.child("retention");
    RetentionPolicy retention = r == null ? RetentionPolicy.KEEP_ALL : ConfigLoader.retention(r);
    java.time.Duration rpo = p.duration("rpo");
    java.time.Duration rto = p.duration("rto");
    return new CoordinatorConfig.Policy(name, List.copyOf(hosts), schedule, kind, List.copyOf(databases), all, label, repository, retention,
        rpo, rto, List.copyOf(volumes), incremental);
  }

  private static CoordinatorConfig.Notifications notifications(ConfigNode n, Path baseDir) {
    n.onlyKeys(Set.of("webhooks", "slack", "email"));
    List<CoordinatorConfig.Webhook> webhooks = new ArrayList<>();
    for (ConfigNode w : n.list("webhooks")) {
      w.onlyKeys(Set.of("url", "secret-file", "events"));
      webhooks.add(new CoordinatorConfig.Webhook(httpUrl(w, "url"), readSecret(w, "secret-file", baseDir), events(w)));
    }
    List<CoordinatorConfig.Slack> slack = new ArrayList<>();
    for (ConfigNode s : n.list("slack")) {
      s.onlyKeys(Set.of("url", "events"));
      slack.add(new CoordinatorConfig.Slack(httpUrl(s, "url"), events(s)));
    }
    Optional<CoordinatorConfig.Email> email = Optional.empty();
    ConfigNode e = n.child("email");
    if (e != null) {
      e.onlyKeys(Set.of("smtp-host", "smtp-port", "starttls", "username", "password-file", "from", "to", "events"));
      List<String> to = e.strings("to");
      if (to.isEmpty()) {
        throw e.error("to", "at least one recipient is required");
      }
      email = Optional.of(new CoordinatorConfig.Email(e.requiredString("smtp-host"), e.integer("smtp-port", 25, 1, 65535),
          e.bool("starttls", false), e.string("username", null), e.has("password-file") ? readSecret(e, "password-file", baseDir) : null,
          e.requiredString("from"), List.copyOf(to), events(e)));
    }
    return new CoordinatorConfig.Notifications(List.copyOf(webhooks), List.copyOf(slack), email);
  }

  private static List<String> events(ConfigNode n) {
    List<String> events = n.strings("events");
    for (String e : events) {
      if (!CoordinatorConfig.EVENTS.contains(e)) {
        throw n.error("events", "unknown event '" + e + "' (known: " + String.join(", ", CoordinatorConfig.EVENTS) + ")");
      }
    }
    return List.copyOf(events);
  }

  private static String httpUrl(ConfigNode n, String key) {
    String url = n.requiredString(key);
    if (!url.startsWith("http://") && !url.startsWith("https://")) {
      throw n.error(key, "must be an http:// or https:// URL");
    }
    return url;
  }

  private static Role role(ConfigNode t) {
    String r = t.requiredString("role");
    try {
      return Role.valueOf(r.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw t.error("role", "must be viewer, operator, admin or agent, got '" + r + "'");
    }
  }

  private static String readSecret(ConfigNode n, String key, Path baseDir) {
    Path file = ConfigLoader.resolve(baseDir, n.requiredString(key));
    try {
      String s = Files.readString(file, StandardCharsets.UTF_8).strip();
      if (s.isEmpty()) {
        throw n.error(key, "file " + file + " is empty");
      }
      return s;
    } catch (IOException e) {
      throw n.error(key, "cannot read " + file + ": " + e.getClass().getSimpleName());
    }
  }

  /** Hex SHA-256 of a token, as stored in the config and compared on every request. */
  public static String sha256(String token) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
