package io.flotilla.coordinator.fleet;

import io.flotilla.config.CoordinatorConfig;
import io.flotilla.coordinator.jobs.Jobs;
import io.flotilla.coordinator.policy.Policies;
import io.flotilla.protocol.Protocol;
import io.flotilla.wal.Lsn;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds the agents' WebSockets on this member. Each connected host gets an event-bus address
 * ({@code flotilla.agent.<host>}) on the member that holds its socket, so any member can reach any
 * agent; a newer connection for the same host (on any member) closes the older one.
 */
public final class AgentGateway {
  private static final Logger LOG = LoggerFactory.getLogger(AgentGateway.class);
  private static final String TAKEOVER = "flotilla.agent.takeover";

  private final Vertx vertx;
  private final String member;
  private final Fleet fleet;
  private final Jobs jobs;
  private final Policies policies;
  private final Consumer<JsonObject> onJobReport;
  private final Map<String, Connection> connections = new ConcurrentHashMap<>();

  public AgentGateway(Vertx vertx, String member, Fleet fleet, Jobs jobs, Policies policies, Consumer<JsonObject> onJobReport) {
    this.vertx = vertx;
    this.member = member;
    this.fleet = fleet;
    this.jobs = jobs;
    this.policies = policies;
    this.onJobReport = onJobReport;
  }

  public static String address(String host) {
    return "flotilla.agent." + host;
  }

  public Future<Void> start() {
    vertx.eventBus().<JsonObject>consumer(TAKEOVER, msg -> {
      JsonObject b = msg.body();
      Connection c = connections.get(b.getString("host"));
      if (c != null && !c.id.equals(b.getString("connection"))) {
        LOG.info("host {}: agent reconnected elsewhere (member {}); closing the old connection here", c.host, b.getString("member"));
        c.close(false);
      }
    });
    // Policies change through the API on any member: resend each agent its schedules when they do.
    vertx.setPeriodic(2000, id -> connections.values().forEach(Connection::sendSchedulesIfChanged));
    return Future.succeededFuture();
  }

  public int connected() {
    return connections.size();
  }

  /** Takes over an upgraded socket; {@code token} limits which host names it may register as. */
  public void accept(ServerWebSocket ws, CoordinatorConfig.Token token) {
    Connection c = new Connection(ws, token);
    ws.textMessageHandler(c::onText);
    ws.closeHandler(v -> c.closed());
    ws.exceptionHandler(t -> LOG.debug("agent socket error: {}", t.toString()));
  }

  /** Sends {@code message} to the agent of {@code host} through whichever member holds it. */
  public Future<Void> send(String host, JsonObject message) {
    return vertx.eventBus().request(address(host), message, new io.vertx.core.eventbus.DeliveryOptions().setSendTimeout(5000))
        .mapEmpty();
  }

  private final class Connection {
    final String id = UUID.randomUUID().toString();
    final ServerWebSocket ws;
    final CoordinatorConfig.Token token;
    String host;
    MessageConsumer<JsonObject> consumer;
    String schedulesSent;

    Connection(ServerWebSocket ws, CoordinatorConfig.Token token) {
      this.ws = ws;
      this.token = token;
    }

    void onText(String text) {
      JsonObject msg;
      try {
        msg = new JsonObject(text);
      } catch (RuntimeException e) {
        refuse("not a JSON message");
        return;
      }
      String type = msg.getString("type", "");
      if (host == null && !Protocol.HELLO.equals(type)) {
        refuse("the first message must be hello");
        return;
      }
      switch (type) {
        case Protocol.HELLO -> hello(msg);
        case Protocol.HEARTBEAT -> heartbeat(msg);
        case Protocol.JOB -> job(msg);
        default -> LOG.debug("host {}: ignoring message of type '{}'", host, type);
      }
    }

    void hello(JsonObject msg) {
      String h = msg.getString("host", "");
      if (!h.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,127}")) {
        refuse("hello: invalid host name '" + h + "'");
        return;
      }
      if (token.hosts().stream().noneMatch(g -> Policies.glob(g, h))) {
        LOG.warn("host {}: agent token '{}' may not register this host; refused", h, token.name());
        refuse("token '" + token.name() + "' may not register host " + h);
        return;
      }
      if (host != null) {
        return;
      }
      host = h;
      Connection previous = connections.put(h, this);
      if (previous != null) {
        previous.close(false);
      }
      consumer = vertx.eventBus().consumer(address(h), m -> {
        if (ws.isClosed()) {
          m.fail(503, "agent of " + h + " disconnected");
          return;
        }
        ws.writeTextMessage(m.body().encode()).onComplete(ar -> {
          if (ar.succeeded()) {
            m.reply("sent");
          } else {
            m.fail(503, "agent of " + h + ": " + ar.cause().getMessage());
          }
        });
      });
      vertx.eventBus().publish(TAKEOVER, new JsonObject().put("host", h).put("connection", id).put("member", member));
      String now = Instant.now().toString();
      fleet.update(h, s -> s.put("connected", true).put("member", member).put("connection", id).put("connectedAt", now)
          .put("lastSeen", now).put("agentVersion", msg.getString("agentVersion")).put("registeredAt", s.getString("registeredAt", now)));
      LOG.info("host {}: agent {} connected to member {}", h, msg.getString("agentVersion", "?"), member);
      JsonArray schedules = schedules();
      schedulesSent = schedules.encode();
      ws.writeTextMessage(new JsonObject().put("type", Protocol.WELCOME).put("member", member).put("schedules", schedules).encode());
    }

    JsonArray schedules() {
      JsonArray a = new JsonArray();
      policies.forHost(host).stream().filter(p -> p.schedule() != null).forEach(p -> a.add(Policies.toJson(p)));
      return a;
    }

    void sendSchedulesIfChanged() {
      if (host == null || ws.isClosed()) {
        return;
      }
      JsonArray s = schedules();
      if (!s.encode().equals(schedulesSent)) {
        schedulesSent = s.encode();
        ws.writeTextMessage(new JsonObject().put("type", Protocol.SCHEDULES).put("schedules", s).encode());
      }
    }

    void heartbeat(JsonObject msg) {
      long nowMs = System.currentTimeMillis();
      String now = Instant.ofEpochMilli(nowMs).toString();
      Object seq = msg.getValue("seq");
      fleet.update(host, s -> {
        s.put("lastSeen", now).put("connected", true).put("member", member).put("connection", id);
        JsonObject hb = msg.copy();
        hb.remove("type");
        s.put("heartbeat", hb);
        // The coordinator's own reading of "written but not yet archived": the first heartbeat that saw
        // WAL beyond the end of the newest archived segment, cleared once archiving catches up.
        JsonObject wal = msg.getJsonObject("wal");
        boolean behind = false;
        if (wal != null && wal.getString("currentLsn") != null && wal.getString("archivedUpToLsn") != null
            && Lsn.isValid(wal.getString("currentLsn")) && Lsn.isValid(wal.getString("archivedUpToLsn"))) {
          behind = Lsn.parse(wal.getString("currentLsn")) > Lsn.parse(wal.getString("archivedUpToLsn"));
        } else if (wal != null && wal.getString("currentLsn") != null && wal.getString("archivedUpToLsn") == null) {
          behind = true;
        }
        if (!behind) {
          s.remove("unarchivedSince");
        } else if (!s.containsKey("unarchivedSince")) {
          s.put("unarchivedSince", now);
        }
      }).onComplete(ar -> {
        // Acknowledged once stored in the cluster map, so the agent (and the fleet benchmark) knows it landed.
        if (seq != null && !ws.isClosed()) {
          ws.writeTextMessage(new JsonObject().put("type", Protocol.ACK).put("seq", seq).put("ok", ar.succeeded()).encode());
        }
      });
    }

    void job(JsonObject msg) {
      msg.put("host", host);
      jobs.report(msg).onSuccess(job -> {
        LOG.info("host {} job {}: {}{}{}", host, job.getString("id"), job.getString("state"),
            job.getString("backupId") == null ? "" : " backup " + job.getString("backupId"),
            job.getString("error") == null ? "" : ": " + job.getString("error"));
        onJobReport.accept(job);
      }).onFailure(t -> LOG.warn("host {} job {}: could not record the report: {}", host, msg.getString("jobId"), t.toString()));
    }

    void refuse(String why) {
      ws.writeTextMessage(new JsonObject().put("type", "error").put("message", why).encode());
      ws.close((short) 1008, why.length() > 100 ? why.substring(0, 100) : why);
    }

    void close(boolean update) {
      if (!ws.isClosed()) {
        ws.close();
      }
      cleanup(update);
    }

    void closed() {
      cleanup(true);
    }

    private void cleanup(boolean update) {
      if (host == null) {
        return;
      }
      connections.remove(host, this);
      if (consumer != null) {
        consumer.unregister();
        consumer = null;
      }
      if (update) {
        String h = host;
        fleet.update(h, s -> {
          if (id.equals(s.getString("connection"))) {
            s.put("connected", false).put("disconnectedAt", Instant.now().toString());
          }
        });
        LOG.info("host {}: agent disconnected from member {}", h, member);
      }
    }
  }
}
