package io.flotilla.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.agent.coordinator.CoordinatorClient;
import io.flotilla.config.AgentCoordinatorConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's side of exactly-once and fencing, driven through its real WebSocket client: a job id
 * runs once whoever sends it (also after the agent restarts), and assignments from a leader older
 * than one the agent has accepted are refused. The server here plays a coordinator member (or a
 * deposed one) by sending protocol messages by hand.
 */
@Timeout(60)
class AgentFencingIT {
  @TempDir
  Path tmp;
  Vertx vertx;
  HttpServer server;
  volatile ServerWebSocket socket;
  final List<JsonObject> fromAgent = new CopyOnWriteArrayList<>();
  final List<String> ran = new CopyOnWriteArrayList<>();
  String deployment;

  @BeforeEach
  void setUp() throws Exception {
    vertx = Vertx.vertx();
    server = vertx.createHttpServer().webSocketHandler(ws -> {
      if (!"Bearer agent-secret".equals(ws.headers().get("Authorization"))) {
        ws.close((short) 1008, "bad token");
        return;
      }
      socket = ws;
      ws.textMessageHandler(t -> fromAgent.add(new JsonObject(t)));
    }).listen(0, "127.0.0.1").await();
    Files.writeString(tmp.resolve("token"), "agent-secret\n");
    startAgent();
  }

  void startAgent() throws Exception {
    socket = null;
    AgentCoordinatorConfig cfg = new AgentCoordinatorConfig(List.of(URI.create("ws://127.0.0.1:" + server.actualPort())), tmp.resolve("token"), 60);
    CoordinatorClient client = new CoordinatorClient("db1", tmp.resolve("spool"), cfg, "test", a -> {
      ran.add(a.getString("jobId"));
      return new CoordinatorClient.Running(Future.succeededFuture(new JsonObject().put("backupId", "b-" + ran.size())), JsonObject::new);
    }, JsonObject::new);
    deployment = vertx.deployVerticle(client).await();
    Members.await(Duration.ofSeconds(10), "agent says hello", () -> socket != null && fromAgent.stream()
        .anyMatch(m -> "hello".equals(m.getString("type"))));
  }

  @AfterEach
  void tearDown() {
    vertx.close().await();
  }

  void assign(String jobId, long epoch, String leader) {
    socket.writeTextMessage(new JsonObject().put("type", "assign").put("jobId", jobId).put("epoch", epoch).put("leader", leader)
        .put("kind", "logical").put("all", true).encode());
  }

  JsonObject awaitReport(String jobId, String... states) throws Exception {
    JsonObject[] found = new JsonObject[1];
    Members.await(Duration.ofSeconds(10), "report of " + jobId + " in " + List.of(states), () -> {
      for (JsonObject m : fromAgent) {
        if ("job".equals(m.getString("type")) && jobId.equals(m.getString("jobId")) && List.of(states).contains(m.getString("state"))) {
          found[0] = m;
          return true;
        }
      }
      return false;
    });
    fromAgent.removeIf(m -> m == found[0]);
    return found[0];
  }

  @Test
  void shouldRunAJobIdOnceWhoeverSendsItAndAfterARestart() throws Exception {
    assign("db1/nightly/2026-11-22T02:00:00Z", 1000, "member-1");
    JsonObject done = awaitReport("db1/nightly/2026-11-22T02:00:00Z", "succeeded");
    assertThat(done.getString("backupId")).isEqualTo("b-1");

    // The same fire again (a new leader catching up, or the reconcile): answered from the ledger, not run.
    assign("db1/nightly/2026-11-22T02:00:00Z", 1000, "member-1");
    JsonObject again = awaitReport("db1/nightly/2026-11-22T02:00:00Z", "succeeded");
    assertThat(again.getBoolean("duplicate")).isTrue();
    assertThat(again.getString("backupId")).isEqualTo("b-1");

    // After the agent restarts, the ledger on disk still knows.
    vertx.undeploy(deployment).await();
    startAgent();
    assign("db1/nightly/2026-11-22T02:00:00Z", 1001, "member-2");
    assertThat(awaitReport("db1/nightly/2026-11-22T02:00:00Z", "succeeded").getBoolean("duplicate")).isTrue();
    assertThat(ran).containsExactly("db1/nightly/2026-11-22T02:00:00Z");
  }

  @Test
  void shouldRefuseAssignmentsFromAnOlderLeader() throws Exception {
    assign("db1/nightly/2026-11-22T02:00:00Z", 2000, "member-1");
    awaitReport("db1/nightly/2026-11-22T02:00:00Z", "succeeded");

    // A deposed leader (older epoch) on the other side of a split.
    assign("db1/nightly/2026-11-22T03:00:00Z", 1999, "member-0");
    JsonObject refused = awaitReport("db1/nightly/2026-11-22T03:00:00Z", "refused");
    assertThat(refused.getString("error")).contains("epoch 1999").contains("older than epoch 2000");
    // The same epoch from another member is not the leader the agent follows either.
    assign("db1/nightly/2026-11-22T04:00:00Z", 2000, "member-2");
    awaitReport("db1/nightly/2026-11-22T04:00:00Z", "refused");

    // A newer leader is followed, and from then on its predecessor is refused.
    assign("db1/nightly/2026-11-22T05:00:00Z", 2001, "member-2");
    awaitReport("db1/nightly/2026-11-22T05:00:00Z", "succeeded");
    assign("db1/nightly/2026-11-22T06:00:00Z", 2000, "member-1");
    awaitReport("db1/nightly/2026-11-22T06:00:00Z", "refused");
    assertThat(ran).containsExactly("db1/nightly/2026-11-22T02:00:00Z", "db1/nightly/2026-11-22T05:00:00Z");
  }
}
