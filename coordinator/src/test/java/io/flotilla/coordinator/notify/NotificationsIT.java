package io.flotilla.coordinator.notify;

import static org.assertj.core.api.Assertions.assertThat;

import com.icegreen.greenmail.configuration.GreenMailConfiguration;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetupTest;
import io.flotilla.config.CoordinatorConfig;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import jakarta.mail.internet.MimeMessage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Every channel against a real receiver: a Vert.x HTTP server for webhooks and Slack, GreenMail for SMTP. */
@ExtendWith(VertxExtension.class)
@Timeout(60)
class NotificationsIT {
  private static final String SECRET = "whsec-4f1c9e27b0";
  /** Fast retries so the retry test takes milliseconds, not seconds. */
  private static final NotifyOptions FAST = new NotifyOptions(List.of(Duration.ofMillis(50), Duration.ofMillis(100)), Duration.ofSeconds(5));

  private record Received(MultiMap headers, Buffer body) {}

  private Vertx vertx;
  private HttpServer server;
  private String base;
  private final Map<String, Queue<Received>> received = new ConcurrentHashMap<>();
  private final AtomicInteger flakyCalls = new AtomicInteger();
  private Notifications notifications;

  @BeforeEach
  void startReceiver(Vertx vertx) {
    this.vertx = vertx;
    server = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(body -> {
      String path = req.path();
      if (path.contains("HANG")) {
        return; // a receiver that accepts the connection and never answers
      }
      // The flaky receiver fails its first two calls, like a receiver being redeployed.
      if (path.equals("/flaky") && flakyCalls.incrementAndGet() <= 2) {
        req.response().setStatusCode(500).end();
        return;
      }
      MultiMap headers = MultiMap.caseInsensitiveMultiMap().addAll(req.headers());
      received.computeIfAbsent(path, p -> new ConcurrentLinkedQueue<>()).add(new Received(headers, body));
      req.response().setStatusCode(path.startsWith("/services/") ? 200 : 204).end("ok");
    })).listen(0, "127.0.0.1").await();
    base = "http://127.0.0.1:" + server.actualPort();
  }

  @AfterEach
  void stop() {
    if (notifications != null) {
      notifications.close().await();
    }
    server.close().await();
  }

  private static Notification jobFailed() {
    return new Notification("job-failed", "db-1", "nightly-db-1-20250101T020000Z", "nightly",
        "pg_dump exited with code 1: connection refused", Map.of("exitCode", 1, "attempt", 2),
        Instant.parse("2025-01-01T02:03:04Z"));
  }

  private static CoordinatorConfig.Notifications config(List<CoordinatorConfig.Webhook> webhooks, List<CoordinatorConfig.Slack> slack,
      Optional<CoordinatorConfig.Email> email) {
    return new CoordinatorConfig.Notifications(webhooks, slack, email);
  }

  private List<Received> at(String path) {
    return List.copyOf(received.getOrDefault(path, new ConcurrentLinkedQueue<>()));
  }

  @Test
  void shouldPostSignedJsonToWebhook() throws Exception {
    // given
    notifications = Notifications.create(vertx, config(List.of(new CoordinatorConfig.Webhook(base + "/hook", SECRET, List.of())),
        List.of(), Optional.empty()), FAST);
    Notification n = jobFailed();
    long before = Instant.now().getEpochSecond();

    // when
    notifications.publish(n).await();

    // then
    List<Received> got = at("/hook");
    assertThat(got).hasSize(1);
    Received r = got.get(0);
    assertThat(r.headers().get("Content-Type")).isEqualTo("application/json");
    assertThat(r.headers().get("X-Flotilla-Event")).isEqualTo("job-failed");
    String timestamp = r.headers().get("X-Flotilla-Timestamp");
    assertThat(Long.parseLong(timestamp)).isBetween(before - 1, Instant.now().getEpochSecond() + 1);
    assertThat(r.headers().get("X-Flotilla-Signature")).isEqualTo("sha256=" + hmacHex(SECRET, timestamp + "." + r.body()));
    assertThat(r.headers().get("X-Flotilla-Signature")).isNotEqualTo("sha256=" + hmacHex("wrong-secret", timestamp + "." + r.body()));

    JsonObject json = r.body().toJsonObject();
    assertThat(json.fieldNames()).containsExactlyInAnyOrder("id", "event", "host", "jobId", "policy", "message", "details", "at");
    assertThat(json.getString("id")).isEqualTo(n.id()).hasSize(32);
    assertThat(json.getString("event")).isEqualTo("job-failed");
    assertThat(json.getString("host")).isEqualTo("db-1");
    assertThat(json.getString("jobId")).isEqualTo("nightly-db-1-20250101T020000Z");
    assertThat(json.getString("policy")).isEqualTo("nightly");
    assertThat(json.getString("message")).isEqualTo("pg_dump exited with code 1: connection refused");
    assertThat(json.getJsonObject("details").getInteger("exitCode")).isEqualTo(1);
    assertThat(json.getString("at")).isEqualTo("2025-01-01T02:03:04Z");
  }

  @Test
  void shouldRetryUntilReceiverAccepts() {
    // given a receiver answering 500, 500, then 2xx
    notifications = Notifications.create(vertx, config(List.of(new CoordinatorConfig.Webhook(base + "/flaky", SECRET, List.of())),
        List.of(), Optional.empty()), FAST);

    // when
    notifications.publish(jobFailed()).await();

    // then the third attempt delivered it, once
    assertThat(flakyCalls.get()).isEqualTo(3);
    assertThat(at("/flaky")).hasSize(1);
    assertThat(at("/flaky").get(0).body().toJsonObject().getString("id")).isEqualTo(jobFailed().id());
  }

  @Test
  void shouldSkipChannelsWhoseEventFilterExcludesTheEvent() {
    // given one webhook for failures only, one for recoveries only, one for everything
    notifications = Notifications.create(vertx, config(List.of(
        new CoordinatorConfig.Webhook(base + "/failures", SECRET, List.of("job-failed", "rpo-missed")),
        new CoordinatorConfig.Webhook(base + "/recoveries", SECRET, List.of("recovered")),
        new CoordinatorConfig.Webhook(base + "/all", SECRET, List.of())), List.of(), Optional.empty()), FAST);
    Notification recovered = new Notification("recovered", "db-1", null, "nightly", "backups succeed again", Map.of(), Instant.now());

    // when
    notifications.publish(recovered).await();

    // then (publish completes when every matching channel is done, so absence is final)
    assertThat(at("/failures")).isEmpty();
    assertThat(at("/recoveries")).hasSize(1);
    assertThat(at("/all")).hasSize(1);
  }

  @Test
  void shouldPostSlackTextWithHostAndMessage() {
    // given
    notifications = Notifications.create(vertx, config(List.of(),
        List.of(new CoordinatorConfig.Slack(base + "/services/T000/B000/XXXXSLACKTOKEN", List.of())), Optional.empty()), FAST);

    // when
    notifications.publish(jobFailed()).await();

    // then
    List<Received> got = at("/services/T000/B000/XXXXSLACKTOKEN");
    assertThat(got).hasSize(1);
    JsonObject json = got.get(0).body().toJsonObject();
    assertThat(json.fieldNames()).containsExactly("text");
    assertThat(json.getString("text")).isEqualTo("[flotilla] job-failed on db-1: pg_dump exited with code 1: connection refused");
  }

  @Test
  void shouldMailSubjectAndMessageThroughSmtp() throws Exception {
    // given an SMTP server requiring login
    GreenMail greenMail = new GreenMail(ServerSetupTest.SMTP.dynamicPort())
        .withConfiguration(GreenMailConfiguration.aConfig().withUser("flotilla@example.org", "flotilla", "mail-pw-93c1"));
    greenMail.start();
    try {
      CoordinatorConfig.Email email = new CoordinatorConfig.Email("127.0.0.1", greenMail.getSmtp().getPort(), false, "flotilla", "mail-pw-93c1",
          "flotilla@example.org", List.of("dba@example.org"), List.of("job-failed"));
      notifications = Notifications.create(vertx, config(List.of(), List.of(), Optional.of(email)), FAST);

      // when
      notifications.publish(jobFailed()).await();

      // then
      assertThat(greenMail.waitForIncomingEmail(5_000, 1)).isTrue();
      MimeMessage[] messages = greenMail.getReceivedMessages();
      assertThat(messages).hasSize(1);
      assertThat(messages[0].getSubject()).isEqualTo("[flotilla] job-failed db-1");
      assertThat(messages[0].getAllRecipients()).extracting(Object::toString).containsExactly("dba@example.org");
      String body = messages[0].getContent().toString();
      assertThat(body).contains("pg_dump exited with code 1: connection refused", "job: nightly-db-1-20250101T020000Z", "exitCode: 1");
    } finally {
      greenMail.stop();
    }
  }

  @Test
  void shouldCompletePublishAndKeepSecretsOutOfLogWhenReceiverIsDown() throws IOException {
    // given receivers on a port nothing listens on
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    String down = "http://127.0.0.1:" + closedPort;
    notifications = Notifications.create(vertx, config(
        List.of(new CoordinatorConfig.Webhook(down + "/hook?token=hooktoken77", SECRET, List.of())),
        List.of(new CoordinatorConfig.Slack(down + "/services/T1/B1/DOWNSLACKTOKEN", List.of())), Optional.empty()), FAST);

    // when
    String log = capturingLog(() -> notifications.publish(jobFailed()).await());

    // then publish succeeded, each channel logged one give-up line naming kind and host only
    List<String> lines = log.lines().filter(l -> l.contains("not delivered")).toList();
    assertThat(lines).hasSize(2);
    assertThat(lines).anySatisfy(l -> assertThat(l).contains("via webhook to 127.0.0.1", "after 3 attempts", "host=db-1"));
    assertThat(lines).anySatisfy(l -> assertThat(l).contains("via slack to 127.0.0.1"));
    assertThat(log).doesNotContain(SECRET, "hooktoken77", "DOWNSLACKTOKEN", "/services/");
  }

  @Test
  void shouldGiveUpOnSilentReceiverWithinTimeoutAndKeepUrlPathOutOfLog() {
    // given a Slack receiver that never answers, and a short per-attempt timeout
    NotifyOptions quick = new NotifyOptions(List.of(Duration.ofMillis(20), Duration.ofMillis(20)), Duration.ofMillis(300));
    notifications = Notifications.create(vertx, config(List.of(),
        List.of(new CoordinatorConfig.Slack(base + "/services/T2/B2/HANGTOKEN", List.of())), Optional.empty()), quick);

    // when
    long start = System.nanoTime();
    String log = capturingLog(() -> notifications.publish(jobFailed()).await());

    // then three bounded attempts, and the client's timeout message had the path removed
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    List<String> lines = log.lines().filter(l -> l.contains("not delivered")).toList();
    assertThat(lines).singleElement().asString().contains("via slack to 127.0.0.1", "after 3 attempts");
    assertThat(log).doesNotContain("HANGTOKEN", "/services/");
  }

  /** Runs {@code action} and returns what was logged meanwhile (slf4j-simple writes to whatever System.err is then). */
  private static String capturingLog(Runnable action) {
    PrintStream err = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      action.run();
    } finally {
      System.setErr(err);
    }
    String log = captured.toString(StandardCharsets.UTF_8);
    err.print(log);
    return log;
  }

  @Test
  void shouldGiveSameIdToSameEventAndDifferentIdToAnother() {
    Notification a = jobFailed();
    Notification b = new Notification(a.event(), a.host(), a.jobId(), a.policy(), "other words", Map.of(), a.at());
    Notification c = new Notification(a.event(), a.host(), a.jobId(), a.policy(), a.message(), a.details(), a.at().plus(1, ChronoUnit.SECONDS));
    assertThat(b.id()).isEqualTo(a.id());
    assertThat(c.id()).isNotEqualTo(a.id());
  }

  private static String hmacHex(String key, String data) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return HexFormat.of().formatHex(mac.doFinal(data.getBytes(StandardCharsets.UTF_8)));
  }
}
