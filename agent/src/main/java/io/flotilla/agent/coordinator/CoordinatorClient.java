package io.flotilla.agent.coordinator;

import io.flotilla.config.AgentCoordinatorConfig;
import io.flotilla.error.FlotillaException;
import io.flotilla.protocol.Protocol;
import io.flotilla.schedule.CronSchedule;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's side of the coordinator protocol: one authenticated WebSocket to any member,
 * reconnected with backoff; hello, heartbeats, job reports; assignments checked against the
 * leader epoch and the local ledger before they run. While no coordinator is reachable the agent
 * keeps running its cached schedules itself, under the same deterministic job ids, and reports
 * those runs when it is back.
 */
public final class CoordinatorClient extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(CoordinatorClient.class);

  /** Runs one assigned job; the result carries backupId, plainBytes, storedBytes when there is a backup. */
  public interface JobRunner {
    Running run(JsonObject assignment);
  }

  /** A job under way: its outcome, and its progress so far (bytes read and stored) on demand. */
  public record Running(Future<JsonObject> result, java.util.function.Supplier<JsonObject> progress) {}

  private final String host;
  private final AgentCoordinatorConfig config;
  private final String agentVersion;
  private final JobRunner runner;
  private final Callable<JsonObject> probe;
  private final JobLedger ledger;
  private String token;
  private WebSocket ws;
  private long backoffMillis = 1000;
  private JsonArray schedules = new JsonArray();
  private JsonObject cursors = new JsonObject();
  private final Deque<JsonObject> queue = new ArrayDeque<>();
  private final Set<String> inFlight = new HashSet<>();
  private boolean running;
  private boolean stopping;
  private long lastCursorSave;
  private io.vertx.core.http.WebSocketClient client;

  public CoordinatorClient(String host, Path spool, AgentCoordinatorConfig config, String agentVersion, JobRunner runner,
      Callable<JsonObject> probe) {
    this.host = host;
    this.config = config;
    this.agentVersion = agentVersion;
    this.runner = runner;
    this.probe = probe;
    this.ledger = new JobLedger(spool);
  }

  @Override
  public Future<?> start() {
    client = vertx.createWebSocketClient(new WebSocketClientOptions().setConnectTimeout(5000).setMaxFrameSize(1 << 20)
        .setMaxMessageSize(4 << 20));
    return vertx.executeBlocking(() -> {
      token = Files.readString(config.tokenFile()).strip();
      JsonObject cached = ledger.schedules().orElse(new JsonObject().put("schedules", new JsonArray()));
      schedules = cached.getJsonArray("schedules", new JsonArray());
      cursors = ledger.cursors();
      return null;
    }, false).recover(t -> Future.failedFuture(new FlotillaException(io.flotilla.error.ErrorCode.CONFIG,
        "coordinator.token-file " + config.tokenFile() + ": cannot read (" + t.getClass().getSimpleName() + ")"))).onSuccess(v -> {
          LOG.info("host {}: {} cached schedule(s); connecting to coordinator {}", host, schedules.size(), redacted());
          connect();
          vertx.setPeriodic(config.heartbeatSeconds() * 1000L, id -> heartbeat());
          vertx.setPeriodic(1000, id -> localSchedule());
        });
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    return ws == null ? Future.succeededFuture() : ws.close().otherwiseEmpty();
  }

  /** Whether a coordinator connection is open now. */
  public boolean connected() {
    return ws != null;
  }

  /** Which of the configured members to try next. */
  private int target;

  private String redacted() {
    URI u = config.urls().get(target);
    return u.getScheme() + "://" + u.getHost() + ":" + port(u);
  }

  private static int port(URI u) {
    if (u.getPort() > 0) {
      return u.getPort();
    }
    return "wss".equals(u.getScheme()) || "https".equals(u.getScheme()) ? 443 : 80;
  }

  private void connect() {
    if (stopping) {
      return;
    }
    URI u = config.urls().get(target);
    boolean tls = "wss".equals(u.getScheme()) || "https".equals(u.getScheme());
    String path = u.getPath() == null || u.getPath().isEmpty() || "/".equals(u.getPath()) ? Protocol.CONNECT_PATH : u.getPath();
    WebSocketConnectOptions o = new WebSocketConnectOptions().setHost(u.getHost()).setPort(port(u)).setURI(path).setSsl(tls)
        .addHeader("Authorization", "Bearer " + token).setTimeout(10_000);
    client.connect(o).onSuccess(socket -> {
      ws = socket;
      backoffMillis = 1000;
      socket.textMessageHandler(this::onMessage);
      socket.closeHandler(v -> {
        if (ws == socket) {
          ws = null;
          LOG.warn("host {}: coordinator connection closed; running cached schedules alone until it is back", host);
          saveCursors(true);
          reconnectLater();
        }
      });
      socket.exceptionHandler(t -> LOG.debug("host {}: coordinator socket error: {}", host, t.toString()));
      send(new JsonObject().put("type", Protocol.HELLO).put("host", host).put("agentVersion", agentVersion).put("protocol",
          Protocol.VERSION));
      LOG.info("host {}: connected to coordinator {}", host, redacted());
      heartbeat();
      vertx.executeBlocking(ledger::unreported, false).onSuccess(list -> list.forEach(this::deliver));
    }).onFailure(t -> {
      String failed = redacted();
      long delay = reconnectLater();
      LOG.warn("host {}: cannot reach coordinator {}: {}; next attempt in {} s", host, failed, oneLine(t), delay / 1000.0);
    });
  }

  private static String oneLine(Throwable t) {
    String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    return m.lines().findFirst().orElse(m);
  }

  private long reconnectLater() {
    if (stopping) {
      return 0;
    }
    target = (target + 1) % config.urls().size();
    // Try the other members at once; back off only after every one failed.
    long delay = target != 0 ? 200 : backoffMillis;
    if (target == 0) {
      backoffMillis = Math.min(30_000, backoffMillis * 2);
    }
    vertx.setTimer(delay, id -> connect());
    return delay;
  }

  private Future<Void> send(JsonObject msg) {
    WebSocket socket = ws;
    if (socket == null) {
      return Future.failedFuture("not connected");
    }
    return socket.writeTextMessage(msg.encode());
  }

  private void heartbeat() {
    if (ws == null) {
      return;
    }
    vertx.executeBlocking(probe, false).onSuccess(hb -> {
      hb.put("type", Protocol.HEARTBEAT).put("host", host).put("at", Instant.now().toString())
          .put("intervalSeconds", config.heartbeatSeconds()).put("runningJob", running ? queueHead() : null);
      send(hb);
    }).onFailure(t -> LOG.warn("host {}: health probe failed: {}", host, oneLine(t)));
  }

  private String queueHead() {
    return inFlight.stream().findFirst().orElse(null);
  }

  private void onMessage(String text) {
    JsonObject msg;
    try {
      msg = new JsonObject(text);
    } catch (RuntimeException e) {
      LOG.warn("host {}: ignoring a message from the coordinator that is not JSON", host);
      return;
    }
    switch (msg.getString("type", "")) {
      case Protocol.WELCOME, Protocol.SCHEDULES -> schedules(msg.getJsonArray("schedules", new JsonArray()));
      case Protocol.ASSIGN -> assign(msg);
      case Protocol.ACK -> LOG.debug("host {}: heartbeat {} stored", host, msg.getValue("seq"));
      case "error" -> LOG.error("host {}: coordinator refused this agent: {}", host, msg.getString("message"));
      default -> LOG.debug("host {}: ignoring message type {}", host, msg.getString("type"));
    }
  }

  private void schedules(JsonArray s) {
    schedules = s;
    vertx.executeBlocking(() -> {
      ledger.schedules(new JsonObject().put("schedules", s).put("receivedAt", Instant.now().toString()));
      return null;
    }, false).onFailure(t -> LOG.warn("host {}: cannot cache schedules: {}", host, oneLine(t)));
  }

  private void assign(JsonObject a) {
    String jobId = a.getString("jobId");
    long epoch = a.getLong("epoch", 0L);
    String leader = a.getString("leader", "");
    vertx.executeBlocking(() -> {
      JsonObject f = ledger.fencing();
      long seen = f.getLong("epoch", 0L);
      if (epoch < seen || (epoch == seen && seen > 0 && !leader.equals(f.getString("leader", leader)))) {
        return report(a, "refused").put("error", "assignment from epoch " + epoch + " (" + leader + ") is older than epoch " + seen
            + " (" + f.getString("leader") + ") already accepted");
      }
      if (epoch > seen) {
        ledger.fencing(new JsonObject().put("epoch", epoch).put("leader", leader).put("at", Instant.now().toString()));
      }
      return ledger.job(jobId).map(prev -> prev.copy().put("duplicate", true)).orElse(null);
    }, false).onSuccess(answer -> {
      if (answer != null) {
        if ("refused".equals(answer.getString("state"))) {
          LOG.warn("host {} job {}: refused: {}", host, jobId, answer.getString("error"));
        } else {
          LOG.info("host {} job {}: already ran ({}), not running it again", host, jobId, answer.getString("state"));
        }
        deliver(answer);
        return;
      }
      enqueue(a);
    }).onFailure(t -> LOG.error("host {} job {}: cannot check the local ledger: {}", host, jobId, oneLine(t)));
  }

  private JsonObject report(JsonObject a, String state) {
    JsonObject r = new JsonObject().put("type", Protocol.JOB).put("jobId", a.getString("jobId")).put("state", state)
        .put("kind", a.getString("kind")).put("policy", a.getString("policy")).put("fireTime", a.getString("fireTime"))
        .put("epoch", a.getLong("epoch"));
    if (a.getBoolean("autonomous", false)) {
      r.put("autonomous", true);
    }
    return r;
  }

  private void enqueue(JsonObject a) {
    String jobId = a.getString("jobId");
    if (!inFlight.add(jobId)) {
      send(report(a, running && jobId.equals(queueHead()) ? "running" : "accepted"));
      return;
    }
    queue.add(a);
    send(report(a, "accepted"));
    drain();
  }

  private void drain() {
    if (running || queue.isEmpty()) {
      return;
    }
    running = true;
    JsonObject a = queue.poll();
    String jobId = a.getString("jobId");
    Instant started = Instant.now();
    LOG.info("host {} job {}: running {} backup{}", host, jobId, a.getString("kind"), a.getBoolean("autonomous", false)
        ? " (from the cached schedule; no coordinator reachable)" : "");
    send(report(a, "running").put("startedAt", started.toString()));
    Future<JsonObject> work;
    long ticker = -1;
    try {
      Running r = runner.run(a);
      work = r.result();
      // Progress to the coordinator every 5 s while the job runs.
      ticker = vertx.setPeriodic(5000, id -> send(report(a, "running").put("startedAt", started.toString()).mergeIn(r.progress().get())));
    } catch (RuntimeException e) {
      work = Future.failedFuture(e);
    }
    long progressTimer = ticker;
    work.onComplete(x -> vertx.cancelTimer(progressTimer)).map(result -> report(a, "succeeded").mergeIn(result))
        .recover(t -> Future.succeededFuture(report(a, "failed").put("error", FlotillaException.of(t).getMessage())))
        .compose(r -> {
          Instant finished = Instant.now();
          r.put("startedAt", started.toString()).put("finishedAt", finished.toString())
              .put("seconds", (finished.toEpochMilli() - started.toEpochMilli()) / 1000.0).put("reported", false);
          LOG.info("host {} job {}: {}{}{}", host, jobId, r.getString("state"),
              r.getString("backupId") == null ? "" : " backup " + r.getString("backupId"),
              r.getString("error") == null ? "" : ": " + r.getString("error"));
          return vertx.executeBlocking(() -> {
            ledger.record(r);
            return r;
          }, false);
        })
        .onComplete(ar -> {
          inFlight.remove(jobId);
          running = false;
          if (ar.succeeded()) {
            deliver(ar.result());
          } else {
            LOG.error("host {} job {}: cannot record the result locally: {}", host, jobId, oneLine(ar.cause()));
          }
          drain();
        });
  }

  /** Sends a result; once written to the socket it is marked reported in the ledger. */
  private void deliver(JsonObject r) {
    if (ws == null) {
      return;
    }
    JsonObject msg = r.copy();
    msg.remove("reported");
    send(msg).onSuccess(v -> {
      if (!r.getBoolean("reported", true)) {
        vertx.executeBlocking(() -> {
          ledger.record(r.copy().put("reported", true));
          return null;
        }, false);
      }
    });
  }

  /** Runs cached schedules while no coordinator is connected; while one is, only keeps the cursors current. */
  private void localSchedule() {
    Instant now = Instant.now();
    for (int i = 0; i < schedules.size(); i++) {
      JsonObject p = schedules.getJsonObject(i);
      String key = p.getString("name");
      if (key == null || p.getString("schedule") == null) {
        continue;
      }
      if (ws != null || !cursors.containsKey(key)) {
        cursors.put(key, now.toString());
        continue;
      }
      List<Instant> fires;
      try {
        fires = CronSchedule.parse(p.getString("schedule"), ZoneId.of(p.getString("time-zone", "UTC")))
            .firesBetween(Instant.parse(cursors.getString(key)), now);
      } catch (RuntimeException e) {
        LOG.warn("host {}: cached schedule of policy {} is unusable: {}", host, key, e.getMessage());
        cursors.put(key, now.toString());
        continue;
      }
      if (fires.isEmpty()) {
        continue;
      }
      Instant fire = fires.get(fires.size() - 1);
      cursors.put(key, fire.toString());
      JsonObject a = p.copy().put("type", Protocol.ASSIGN).put("jobId", Protocol.jobId(host, key, fire)).put("policy", key)
          .put("fireTime", fire.toString()).put("autonomous", true).put("epoch", 0L);
      a.remove("name");
      a.remove("hosts");
      vertx.executeBlocking(() -> ledger.job(a.getString("jobId")).isPresent(), false).onSuccess(done -> {
        if (!done) {
          enqueue(a);
        }
      });
    }
    saveCursors(false);
  }

  private void saveCursors(boolean now) {
    long t = System.currentTimeMillis();
    if (!now && t - lastCursorSave < 10_000) {
      return;
    }
    lastCursorSave = t;
    JsonObject snapshot = cursors.copy();
    vertx.executeBlocking(() -> {
      ledger.cursors(snapshot);
      return null;
    }, false);
  }
}
