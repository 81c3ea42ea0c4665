package io.flotilla.coordinator.notify.impl;

import io.flotilla.config.CoordinatorConfig;
import io.flotilla.coordinator.notify.Notification;
import io.flotilla.coordinator.notify.Notifier;
import io.vertx.core.Future;
import io.vertx.ext.mail.LoginOption;
import io.vertx.ext.mail.MailClient;
import io.vertx.ext.mail.MailConfig;
import io.vertx.ext.mail.MailMessage;
import io.vertx.ext.mail.StartTLSOptions;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** Plain-text mail through SMTP: subject {@code [flotilla] <event> <host>}, body the message then the facts. */
public final class EmailNotifier implements Notifier {
  private final MailClient client;
  private final CoordinatorConfig.Email config;
  private final Duration timeout;

  public EmailNotifier(MailClient client, CoordinatorConfig.Email config, Duration timeout) {
    this.client = client;
    this.config = config;
    this.timeout = timeout;
  }

  /** STARTTLS required when configured, otherwise not attempted; login only when a username is set. */
  public static MailConfig mailConfig(CoordinatorConfig.Email e, Duration timeout) {
    MailConfig mc = new MailConfig()
        .setHostname(e.smtpHost())
        .setPort(e.smtpPort())
        .setStarttls(e.starttls() ? StartTLSOptions.REQUIRED : StartTLSOptions.DISABLED)
        .setKeepAlive(false);
    mc.setConnectTimeout((int) timeout.toMillis());
    if (e.username() != null && !e.username().isEmpty()) {
      mc.setLogin(LoginOption.REQUIRED).setUsername(e.username()).setPassword(e.password());
    } else {
      mc.setLogin(LoginOption.DISABLED);
    }
    return mc;
  }

  @Override
  public Future<Void> send(Notification n) {
    MailMessage mail = new MailMessage()
        .setFrom(config.from())
        .setTo(config.to())
        .setSubject("[flotilla] " + n.event() + " " + n.host())
        .setText(body(n))
        .addHeader("X-Flotilla-Id", n.id());
    return client.sendMail(mail).timeout(timeout.toMillis(), TimeUnit.MILLISECONDS).mapEmpty();
  }

  static String body(Notification n) {
    StringBuilder b = new StringBuilder(n.message()).append("\n\n");
    line(b, "event", n.event());
    line(b, "host", n.host());
    line(b, "job", n.jobId());
    line(b, "policy", n.policy());
    line(b, "at", n.at().toString());
    n.details().forEach((k, v) -> line(b, k, String.valueOf(v)));
    line(b, "id", n.id());
    return b.toString();
  }

  private static void line(StringBuilder b, String key, String value) {
    if (value != null) {
      b.append(key).append(": ").append(value).append('\n');
    }
  }
}
