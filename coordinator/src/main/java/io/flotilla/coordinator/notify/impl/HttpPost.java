package io.flotilla.coordinator.notify.impl;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.WebClient;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** One bounded JSON POST whose non-2xx answers are failures. Shared by the webhook and Slack notifiers. */
final class HttpPost {
  private HttpPost() {}

  static Future<Void> send(WebClient client, String url, MultiMap headers, Buffer body, Duration timeout) {
    long ms = timeout.toMillis();
    return client.postAbs(url)
        .putHeaders(headers)
        .connectTimeout(ms)
        .idleTimeout(ms)
        .sendBuffer(body)
        // idleTimeout bounds silence; this bounds the whole exchange (a receiver trickling bytes).
        .timeout(ms, TimeUnit.MILLISECONDS)
        .compose(response -> {
          int status = response.statusCode();
          if (status / 100 == 2) {
            return Future.succeededFuture();
          }
          // The answer's body is the receiver's business and may echo the request: not quoted.
          return Future.failedFuture(new IllegalStateException("HTTP " + status + (response.statusMessage() == null ? "" : " " + response.statusMessage())));
        });
  }
}
