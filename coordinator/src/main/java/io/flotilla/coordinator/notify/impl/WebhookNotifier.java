package io.flotilla.coordinator.notify.impl;

import io.flotilla.config.CoordinatorConfig;
import io.flotilla.coordinator.notify.Notification;
import io.flotilla.coordinator.notify.Notifier;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.WebClient;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * POSTs the notification as JSON, signed: {@code X-Flotilla-Signature: sha256=<hex HMAC-SHA256 of
 * "<X-Flotilla-Timestamp>.<body>" keyed with the secret>}. The timestamp is the attempt's time in
 * epoch seconds, so receivers can refuse replays; each retry is signed afresh.
 */
public final class WebhookNotifier implements Notifier {
  private final WebClient client;
  private final String url;
  private final byte[] secret;
  private final Duration timeout;

  public WebhookNotifier(WebClient client, CoordinatorConfig.Webhook config, Duration timeout) {
    this.client = client;
    this.url = config.url();
    this.secret = config.secret().getBytes(StandardCharsets.UTF_8);
    this.timeout = timeout;
  }

  @Override
  public Future<Void> send(Notification n) {
    Buffer body = n.toJson().toBuffer();
    String timestamp = Long.toString(System.currentTimeMillis() / 1000);
    MultiMap headers = MultiMap.caseInsensitiveMultiMap()
        .add("Content-Type", "application/json")
        .add("X-Flotilla-Event", n.event())
        .add("X-Flotilla-Id", n.id())
        .add("X-Flotilla-Timestamp", timestamp)
        .add("X-Flotilla-Signature", "sha256=" + sign(secret, timestamp, body.getBytes()));
    return HttpPost.send(client, url, headers, body, timeout);
  }

  /** Hex HMAC-SHA256 over {@code timestamp + "." + body}. */
  static String sign(byte[] secret, String timestamp, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      mac.update(timestamp.getBytes(StandardCharsets.US_ASCII));
      mac.update((byte) '.');
      mac.update(body);
      return HexFormat.of().formatHex(mac.doFinal());
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }
}
