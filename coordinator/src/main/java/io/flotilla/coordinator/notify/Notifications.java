package io.flotilla.coordinator.notify;

import io.flotilla.config.CoordinatorConfig;
import io.flotilla.coordinator.notify.impl.EmailNotifier;
import io.flotilla.coordinator.notify.impl.SlackNotifier;
import io.flotilla.coordinator.notify.impl.WebhookNotifier;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.ext.mail.MailClient;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.net.URI;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends notifications to every configured channel whose event filter matches, retrying each with
 * backoff. Delivery never fails the caller: a channel that gives up is logged (kind and host only,
 * never a secret nor a Slack URL path) and {@link #publish} still succeeds.
 */
public final class Notifications {
  private static final Logger LOG = LoggerFactory.getLogger(Notifications.class);

  /** A notifier plus what the fan-out needs to know about it; {@code secrets} are redacted from error messages. */
  private record Channel(String kind, String target, List<String> events, Notifier notifier, List<String> secrets) {
    boolean accepts(String event) {
      return events.isEmpty() || events.contains(event);
    }
  }

  private final Vertx vertx;
  private final NotifyOptions options;
  private final List<Channel> channels;
  private final WebClient webClient;
  private final MailClient mailClient;

  private Notifications(Vertx vertx, NotifyOptions options, List<Channel> channels, WebClient webClient, MailClient mailClient) {
    this.vertx = vertx;
    this.options = options;
    this.channels = List.copyOf(channels);
    this.webClient = webClient;
    this.mailClient = mailClient;
  }

  /** The configured channels with {@link NotifyOptions#DEFAULTS} (3 attempts, 1 s / 4 s backoff, 10 s timeout). */
  public static Notifications create(Vertx vertx, CoordinatorConfig.Notifications config) {
    return create(vertx, config, NotifyOptions.DEFAULTS);
  }

  public static Notifications create(Vertx vertx, CoordinatorConfig.Notifications config, NotifyOptions options) {
    Objects.requireNonNull(vertx, "vertx");
    Objects.requireNonNull(options, "options");
    List<Channel> channels = new ArrayList<>();
    WebClient web = null;
    if (!config.webhooks().isEmpty() || !config.slack().isEmpty()) {
      int timeoutMs = (int) options.timeout().toMillis();
      web = WebClient.create(vertx, new WebClientOptions()
          .setConnectTimeout(timeoutMs)
          .setUserAgent("flotilla-coordinator")
          .setFollowRedirects(false));
    }
    for (CoordinatorConfig.Webhook w : config.webhooks()) {
      URI url = URI.create(w.url());
      channels.add(new Channel("webhook", url.getHost(), w.events(), new WebhookNotifier(web, w, options.timeout()),
          secrets(url, w.secret())));
    }
    for (CoordinatorConfig.Slack s : config.slack()) {
      URI url = URI.create(s.url());
      channels.add(new Channel("slack", url.getHost(), s.events(), new SlackNotifier(web, s.url(), options.timeout()), secrets(url, null)));
    }
    MailClient mail = null;
    if (config.email().isPresent()) {
      CoordinatorConfig.Email e = config.email().get();
      mail = MailClient.create(vertx, EmailNotifier.mailConfig(e, options.timeout()));
      channels.add(new Channel("email", e.smtpHost(), e.events(), new EmailNotifier(mail, e, options.timeout()),
          e.password() == null || e.password().isEmpty() ? List.of() : List.of(e.password())));
    }
    return new Notifications(vertx, options, channels, web, mail);
  }

  /** The whole URL and its path-and-query (a Slack URL's path is its credential), plus a signing secret; longest first. */
  static List<String> secrets(URI url, String secret) {
    List<String> secrets = new ArrayList<>();
    secrets.add(url.toString());
    String pathAndQuery = (url.getRawPath() == null ? "" : url.getRawPath()) + (url.getRawQuery() == null ? "" : "?" + url.getRawQuery());
    if (pathAndQuery.length() > 1) {
      secrets.add(pathAndQuery);
    }
    if (secret != null && !secret.isEmpty()) {
      secrets.add(secret);
    }
    secrets.sort(Comparator.comparingInt(String::length).reversed());
    return List.copyOf(secrets);
  }

  /**
   * Delivers {@code n} to every channel that wants its event. Completes, always successfully, when
   * every channel has delivered or given up.
   */
  public Future<Void> publish(Notification n) {
    List<Future<Void>> deliveries = channels.stream()
        .filter(c -> c.accepts(n.event()))
        .map(c -> deliver(c, n))
        .toList();
    return Future.join(deliveries).<Void>mapEmpty().otherwiseEmpty();
  }

  private Future<Void> deliver(Channel c, Notification n) {
    return attempt(c, n, 1)
        .onSuccess(v -> LOG.debug("notification {} event={} host={} delivered via {} to {}", n.id(), n.event(), n.host(), c.kind(), c.target()))
        .recover(err -> {
          LOG.warn("notification {} event={} host={} job={} not delivered via {} to {} after {} attempts: {}", n.id(), n.event(), n.host(),
              n.jobId(), c.kind(), c.target(), options.attempts(), describe(err, c.secrets()));
          return Future.succeededFuture();
        });
  }

  private Future<Void> attempt(Channel c, Notification n, int attempt) {
    // compose turns an exception thrown by the notifier into a failed attempt.
    return Future.<Void>succeededFuture().compose(v -> c.notifier().send(n)).recover(err -> {
      if (attempt > options.backoff().size()) {
        return Future.failedFuture(err);
      }
      long delay = Math.max(1, options.backoff().get(attempt - 1).toMillis());
      LOG.debug("notification {} via {} to {} attempt {} failed, retrying in {} ms: {}", n.id(), c.kind(), c.target(), attempt, delay,
          describe(err, c.secrets()));
      Promise<Void> next = Promise.promise();
      vertx.setTimer(delay, id -> attempt(c, n, attempt + 1).onComplete(next));
      return next.future();
    });
  }

  /** The error's class and message with every secret removed; client libraries may quote the request URL. */
  static String describe(Throwable err, List<String> secrets) {
    String message = err.getMessage() == null ? "" : err.getMessage();
    for (String s : secrets) {
      message = message.replace(s, "<redacted>");
    }
    message = message.replaceAll("[\\r\\n]+", " ");
    return err.getClass().getSimpleName() + (message.isEmpty() ? "" : ": " + message);
  }

  /** Closes the HTTP and mail clients. */
  public Future<Void> close() {
    List<Future<Void>> closing = new ArrayList<>();
    if (webClient != null) {
      webClient.close();
    }
    if (mailClient != null) {
      closing.add(mailClient.close());
    }
    return Future.join(closing).mapEmpty();
  }
}
