package io.flotilla.coordinator.notify;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import org.junit.jupiter.api.Test;

/** What reaches the log when a client library quotes the request in its error. */
class NotificationsTest {

  @Test
  void shouldRemoveSlackUrlPathFromClientErrorMessage() {
    // given the message Vert.x's HTTP client gives on an idle timeout
    URI url = URI.create("https://hooks.slack.com/services/T000/B000/SLACKTOKEN");
    Exception err = new Exception("The timeout period of 10000ms has been exceeded while executing POST /services/T000/B000/SLACKTOKEN "
        + "for server hooks.slack.com:443");

    // when
    String described = Notifications.describe(err, Notifications.secrets(url, null));

    // then
    assertThat(described).startsWith("Exception: The timeout period").contains("hooks.slack.com:443").doesNotContain("SLACKTOKEN", "/services/");
  }

  @Test
  void shouldRemoveWholeUrlQueryAndSecret() {
    URI url = URI.create("https://alerts.example.org/hook?token=querytoken");
    Exception err = new Exception("failed https://alerts.example.org/hook?token=querytoken with key hmac-secret-1\nsecond line");

    String described = Notifications.describe(err, Notifications.secrets(url, "hmac-secret-1"));

    assertThat(described).doesNotContain("querytoken", "hmac-secret-1", "\n").contains("<redacted>");
  }
}
