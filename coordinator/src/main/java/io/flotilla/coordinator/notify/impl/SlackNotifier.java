package io.flotilla.coordinator.notify.impl;

import io.flotilla.coordinator.notify.Notification;
import io.flotilla.coordinator.notify.Notifier;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import java.time.Duration;

/** Slack incoming-webhook compatible: {@code {"text": "[flotilla] job-failed on db-1: <message>"}}. */
public final class SlackNotifier implements Notifier {
  private final WebClient client;
  private final String url;
  private final Duration timeout;

  public SlackNotifier(WebClient client, String url, Duration timeout) {
    this.client = client;
    this.url = url;
    this.timeout = timeout;
  }

  @Override
  public Future<Void> send(Notification n) {
    MultiMap headers = MultiMap.caseInsensitiveMultiMap().add("Content-Type", "application/json");
    return HttpPost.send(client, url, headers, new JsonObject().put("text", text(n)).toBuffer(), timeout);
  }

  static String text(Notification n) {
    return "[flotilla] " + n.event() + " on " + n.host() + ": " + n.message();
  }
}
