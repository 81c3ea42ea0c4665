package io.flotilla.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.flotilla.agent.Cli;
import io.flotilla.testkit.PostgresCluster;
import io.flotilla.testkit.Processes;
import io.vertx.core.json.JsonObject;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * RPO and RTO as the coordinator computes them, with a real PostgreSQL archiving WAL through the
 * real archive_command and agent daemon: met while archiving works, missed (and announced through a
 * signed webhook) once archiving stops, recovered when it resumes; RTO unknown until a restore has
 * been measured through Flotilla, then known.
 */
@Timeout(400)
class ComplianceIT {
  static final String SECRET = "webhook-secret-42";
  static Path base;
  static PostgresCluster pg;
  static Members members;
  static Agents agent;
  static Path agentConfig;
  static String archiveCommand;
  static HttpServer receiver;
  static final List<JsonObject> received = new CopyOnWriteArrayList<>();
  static final List<String> badSignatures = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void setUp() throws Exception {
    System.setProperty("flotilla.launcher", Cli.launcher().toString());
    receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    receiver.createContext("/hook", ex -> {
      byte[] body = ex.getRequestBody().readAllBytes();
      String ts = ex.getRequestHeaders().getFirst("X-Flotilla-Timestamp");
      String sig = ex.getRequestHeaders().getFirst("X-Flotilla-Signature");
      try {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        mac.update((ts + ".").getBytes(StandardCharsets.UTF_8));
        String expected = "sha256=" + HexFormat.of().formatHex(mac.doFinal(body));
        if (!expected.equals(sig)) {
          badSignatures.add(sig);
        }
      } catch (Exception e) {
        badSignatures.add(e.toString());
      }
      received.add(new JsonObject(new String(body, StandardCharsets.UTF_8)));
      ex.sendResponseHeaders(204, -1);
      ex.close();
    });
    receiver.start();

    base = Files.createTempDirectory("flotilla-compliance-");
    Path repo = base.resolve("repo");
    Path conf = base.resolve("agent");
    Files.createDirectories(conf);
    String archive = Cli.launcher() + " wal-push --config " + conf.resolve("agent.yaml") + " %p";
    archiveCommand = archive;
    pg = PostgresCluster.start("archive_mode = on", "archive_command = '" + archive + "'", "archive_timeout = 1");
    pg.psql("postgres", "CREATE DATABASE app");
    pg.psql("app", "CREATE TABLE events (id serial PRIMARY KEY, what text)");

    Files.writeString(base.resolve("hook.secret"), SECRET + "\n");
    members = new Members(base.resolve("coordinators"), 1, "repositories:\n  - {name: primary, url: \"" + repo.toUri() + "\"}\n"
        + "policies:\n"
        + "  - {name: pitr, hosts: [\"db*\"], kind: physical, rpo: 8s, rto: 1h}\n"
        + "notifications:\n"
        + "  webhooks:\n"
        + "    - {url: \"http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook\", secret-file: " + base.resolve("hook.secret")
        + ", events: [rpo-missed, recovered]}\n");
    members.start(0);
    agentConfig = Agents.config(conf, pg, repo, members.agentUrl(0), "");
    if (Processes.isRoot()) {
      Processes.run(List.of("chown", "-R", "postgres:postgres", base.toString()), null, null).orThrow();
      Processes.run(List.of("chmod", "755", base.toString()), null, null).orThrow();
    }
    agent = Agents.start(agentConfig, true);
    Members.await(Duration.ofSeconds(60), "agent connected", () -> members.get(0, "/api/v1/hosts/db1", Members.VIEWER).json()
        .getBoolean("connected", false));
  }

  @AfterAll
  static void tearDown() throws Exception {
    if (agent != null) {
      agent.close();
    }
    if (members != null) {
      members.close();
    }
    if (receiver != null) {
      receiver.stop(0);
    }
    if (pg != null) {
      pg.close();
    }
    if (base != null) {
      Processes.run(List.of("rm", "-rf", base.toString()), null, null);
    }
  }

  static JsonObject compliance() throws Exception {
    return members.get(0, "/api/v1/hosts/db1", Members.VIEWER).json().getJsonObject("compliance");
  }

  static String job(String body) throws Exception {
    Members.Response r = members.send(0, "POST", "/api/v1/hosts/db1/backups", Members.OPERATOR, body);
    assertThat(r.status()).as(r.body()).isEqualTo(202);
    String id = r.json().getString("jobId");
    Members.await(Duration.ofSeconds(120), "job " + id + " finished", () -> {
      String state = members.get(0, "/api/v1/jobs/" + id, Members.VIEWER).json().getString("state");
      assertThat(state).as(agent.log()).isNotEqualTo("failed");
      return "succeeded".equals(state);
    });
    return id;
  }

  @Test
  void shouldFlipToMissedWhenArchivingStopsAndBackWhenItResumes() throws Exception {
    job("{\"kind\": \"physical\"}");
    Members.await(Duration.ofSeconds(60), "RPO met while archiving works", () -> {
      pg.psql("app", "INSERT INTO events (what) VALUES ('tick')");
      return "met".equals(compliance().getJsonObject("rpo").getString("state"));
    });
    assertThat(compliance().getJsonObject("rpo").getLong("seconds")).isLessThanOrEqualTo(8L);

    // Archiving breaks: PostgreSQL keeps writing WAL that never reaches the repository.
    pg.psql("postgres", "ALTER SYSTEM SET archive_command = '/bin/false'");
    pg.psql("postgres", "SELECT pg_reload_conf()");
    Members.await(Duration.ofSeconds(60), "RPO missed", () -> {
      pg.psql("app", "INSERT INTO events (what) SELECT 'unarchived ' || i FROM generate_series(1, 100) i");
      return "missed".equals(compliance().getJsonObject("rpo").getString("state"));
    });
    JsonObject missed = compliance();
    assertThat(missed.getString("state")).isEqualTo("missed");
    assertThat(missed.getJsonObject("rpo").getLong("seconds")).isGreaterThan(8L);
    assertThat(missed.getJsonObject("rpo").getString("basis")).contains("not archived");
    List<PrometheusParser.Sample> samples = PrometheusParser.parse(members.get(0, "/metrics", Members.VIEWER).body());
    assertThat(samples).anyMatch(s -> s.name().equals("flotilla_compliance_state") && "missed".equals(s.labels().get("state"))
        && s.value() == 1.0);
    Members.await(Duration.ofSeconds(30), "webhook told of the missed RPO", () -> received.stream()
        .anyMatch(e -> "rpo-missed".equals(e.getString("event")) && "db1".equals(e.getString("host"))));

    // Archiving resumes: the backlog is archived and the host is compliant again.
    pg.psql("postgres", "ALTER SYSTEM SET archive_command = '" + archiveCommand.replace("'", "''") + "'");
    pg.psql("postgres", "SELECT pg_reload_conf()");
    Members.await(Duration.ofSeconds(90), "RPO met again", () -> {
      pg.psql("app", "INSERT INTO events (what) VALUES ('tick')");
      return "met".equals(compliance().getJsonObject("rpo").getString("state"));
    });
    Members.await(Duration.ofSeconds(30), "webhook told of the recovery", () -> received.stream()
        .anyMatch(e -> "recovered".equals(e.getString("event"))));
    assertThat(badSignatures).isEmpty();
    assertThat(received).allMatch(e -> List.of("rpo-missed", "recovered").contains(e.getString("event")));
  }

  @Test
  void shouldShowRtoUnknownUntilARestoreIsMeasured() throws Exception {
    assertThat(compliance().getJsonObject("rto").getString("state")).isEqualTo("unknown");
    assertThat(compliance().getJsonObject("rto").getValue("seconds")).isNull();

    Members.Response r = members.send(0, "POST", "/api/v1/hosts/db1/backups", Members.OPERATOR, "{\"databases\": [\"app\"]}");
    assertThat(r.status()).isEqualTo(202);
    String id = r.json().getString("jobId");
    Members.await(Duration.ofSeconds(60), "logical backup", () -> "succeeded".equals(
        members.get(0, "/api/v1/jobs/" + id, Members.VIEWER).json().getString("state")));
    Cli.Result restore = Cli.run(agentConfig, "restore", "--database", "app", "--target-database", "app_drill");
    assertThat(restore.exitCode()).as(restore.toString()).isZero();

    Members.await(Duration.ofSeconds(30), "RTO measured", () -> compliance().getJsonObject("rto").getValue("seconds") != null);
    JsonObject rto = compliance().getJsonObject("rto");
    assertThat(rto.getString("state")).isEqualTo("met");
    assertThat(rto.getDouble("measuredSeconds")).isGreaterThan(0.0);
    assertThat(rto.getLong("targetSeconds")).isEqualTo(3600L);
  }
}
