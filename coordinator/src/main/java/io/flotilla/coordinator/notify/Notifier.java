package io.flotilla.coordinator.notify;

import io.vertx.core.Future;

/** One delivery channel. A single attempt: {@link Notifications} decides on retries and filters events. */
public interface Notifier {

  /** Delivers {@code n} once; fails if the receiver did not accept it. */
  Future<Void> send(Notification n);
}
