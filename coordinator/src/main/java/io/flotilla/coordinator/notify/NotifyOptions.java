package io.flotilla.coordinator.notify;

import java.time.Duration;
import java.util.List;

/**
 * How hard to try each channel.
 *
 * @param backoff the wait before each retry; its size is the number of retries (attempts = size + 1)
 * @param timeout bound on one attempt (connect, send, answer)
 */
public record NotifyOptions(List<Duration> backoff, Duration timeout) {
  /** Three attempts, 1 s then 4 s apart, 10 s each at most. */
  public static final NotifyOptions DEFAULTS = new NotifyOptions(List.of(Duration.ofSeconds(1), Duration.ofSeconds(4)), Duration.ofSeconds(10));

  public NotifyOptions {
    backoff = List.copyOf(backoff);
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive");
    }
  }

  public int attempts() {
    return backoff.size() + 1;
  }
}
