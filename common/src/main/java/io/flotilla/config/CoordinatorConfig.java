package io.flotilla.config;

import io.flotilla.retention.RetentionPolicy;
import io.flotilla.schedule.CronSchedule;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The coordinator member's configuration, validated. Built only by {@link CoordinatorConfigLoader}.
 *
 * @param cluster how this member joins the others
 * @param api where the REST API, metrics and the agent gateway listen
 * @param tokens API tokens and their roles (hashes only; the token files are read at start-up)
 * @param repositories the repositories policies write to (read for backup history and retention)
 * @param policies schedules, retention and targets per group of hosts
 * @param notifications where failures, missed targets and recoveries are sent
 */
public record CoordinatorConfig(
    Cluster cluster,
    Api api,
    List<Token> tokens,
    List<RepositoryConfig> repositories,
    List<Policy> policies,
    Notifications notifications) {

  /**
   * @param memberName this member's name (logs, leader record)
   * @param host address Hazelcast binds to and announces
   * @param port Hazelcast port
   * @param members addresses ({@code host:port}) of the members to join, TCP/IP
   * @param clusterName Hazelcast cluster name (members of other clusters are ignored)
   * @param lease how long a leader's lease lasts without renewal
   */
  public record Cluster(String memberName, String host, int port, List<String> members, String clusterName, Duration lease) {}

  /** @param host address the HTTP server binds; @param port its port */
  public record Api(String host, int port) {}

  /** Roles, each allowing what the ones before it allow. The agent role only connects agents. */
  public enum Role {
    AGENT, VIEWER, OPERATOR, ADMIN;

    public boolean allows(Role needed) {
      if (this == AGENT || needed == AGENT) {
        return this == needed;
      }
      return ordinal() >= needed.ordinal();
    }
  }

  /**
   * @param name who holds the token (logs say this, never the token)
   * @param role what it may do
   * @param sha256 hex SHA-256 of the token
   * @param hosts for agent tokens: the host names (globs) the token may register as
   */
  public record Token(String name, Role role, String sha256, List<String> hosts) {}

  /**
   * @param name policy name (part of job ids: keep it stable)
   * @param hosts host name globs it applies to
   * @param schedule the parsed schedule (expression and time zone), null for no schedule
   * @param kind logical, physical or volume
   * @param databases databases for logical backups; empty with {@code all}
   * @param all logical: every database plus globals; volume: every configured volume
   * @param label label of the backups it makes
   * @param repository repository name (null: the agent's primary)
   * @param retention what to keep
   * @param rpo recovery point objective (null: none)
   * @param rto recovery time objective (null: none)
   * @param volumes volume policies: the volumes to archive (empty with {@code all})
   * @param incremental volume policies: store only files changed since the previous volume backup
   */
  public record Policy(String name, List<String> hosts, CronSchedule schedule, String kind, List<String> databases, boolean all,
      String label, String repository, RetentionPolicy retention, Duration rpo, Duration rto, List<String> volumes, boolean incremental) {}

  /**
   * @param webhooks generic JSON webhooks, HMAC-SHA256 signed
   * @param slack Slack-compatible incoming webhooks
   * @param email SMTP delivery, if configured
   */
  public record Notifications(List<Webhook> webhooks, List<Slack> slack, Optional<Email> email) {
    public static final Notifications NONE = new Notifications(List.of(), List.of(), Optional.empty());
  }

  /** @param url where to POST; @param secret HMAC key (read from secret-file); @param events which events (empty: all) */
  public record Webhook(String url, String secret, List<String> events) {
    @Override
    public String toString() {
      return "Webhook[url=" + url + ", events=" + events + "]";
    }
  }

  /** @param url incoming-webhook URL; @param events which events (empty: all) */
  public record Slack(String url, List<String> events) {
    @Override
    public String toString() {
      return "Slack[events=" + events + "]";
    }
  }

  /**
   * @param smtpHost SMTP server; @param smtpPort its port; @param starttls require STARTTLS;
   * @param username login (null: none); @param password from password-file; @param from sender;
   * @param to recipients; @param events which events (empty: all)
   */
  public record Email(String smtpHost, int smtpPort, boolean starttls, String username, String password, String from, List<String> to,
      List<String> events) {
    @Override
    public String toString() {
      return "Email[smtp=" + smtpHost + ":" + smtpPort + ", to=" + to + "]";
    }
  }

  public Optional<RepositoryConfig> repository(String name) {
    return repositories.stream().filter(r -> r.name().equals(name)).findFirst();
  }

  public Optional<Policy> policy(String name) {
    return policies.stream().filter(p -> p.name().equals(name)).findFirst();
  }

  /** Event names notifications may be filtered on. */
  public static final List<String> EVENTS = List.of("job-failed", "rpo-missed", "rto-missed", "recovered");
}
