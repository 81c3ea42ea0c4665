package io.flotilla.coordinator.bench;

import io.flotilla.protocol.Protocol;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The fleet benchmark's load: many simulated agents (protocol clients only, no PostgreSQL) in one
 * JVM, each a WebSocket that says hello and then heartbeats every {@code --interval} seconds with a
 * random phase, spread round-robin over the given members; plus a poller reading
 * {@code GET /api/v1/hosts} from the members in turn. Measures heartbeat send-to-ack latency (the
 * coordinator acks once the heartbeat is stored in the cluster map) and the hosts list's latency,
 * size and completeness, over a window after a warm-up.
 *
 * <p>Timeline: connections ramp up at {@code --ramp} per second; once every agent is welcomed (or has
 * failed), {@code --warmup} seconds pass, then {@code --duration} seconds are measured: a heartbeat or
 * poll counts if it was <em>sent</em> in that window. Acks still missing {@code --ack-timeout} seconds
 * after the window are counted as unacked. Latencies are taken on the client's event loops, so they
 * include its own scheduling; with two event loops and a few hundred messages a second that is small.
 */
@Command(name = "fleet-load", mixinStandardHelpOptions = true, description = {
    "Simulated agents and a hosts-list poller against coordinator members; prints heartbeat and hosts-list latency."})
public final class FleetLoad implements Callable<Integer> {
  @Option(names = "--member", required = true, split = ",", paramLabel = "URL",
      description = "A member's API base URL, e.g. http://127.0.0.1:8080 (repeat or comma-separate; agents go round-robin).")
  List<URI> members;

  @Option(names = "--agent-token-file", required = true, paramLabel = "FILE", description = "File holding an agent token allowed to register the hosts.")
  Path agentTokenFile;

  @Option(names = "--viewer-token-file", required = true, paramLabel = "FILE", description = "File holding a viewer token (for GET /api/v1/hosts).")
  Path viewerTokenFile;

  @Option(names = "--agents", defaultValue = "2000", description = "Simulated agents (default: ${DEFAULT-VALUE}).")
  int agents;

  @Option(names = "--host-prefix", defaultValue = "db-", description = "Host names are PREFIX0001, PREFIX0002, ... (default: ${DEFAULT-VALUE}).")
  String hostPrefix;

  @Option(names = "--interval", defaultValue = "10", description = "Seconds between an agent's heartbeats (default: ${DEFAULT-VALUE}).")
  int intervalSeconds;

  @Option(names = "--ramp", defaultValue = "200", description = "New connections per second while ramping up (default: ${DEFAULT-VALUE}).")
  int rampPerSecond;

  @Option(names = "--warmup", defaultValue = "30", description = "Seconds after all agents are connected before measuring (default: ${DEFAULT-VALUE}).")
  int warmupSeconds;

  @Option(names = "--duration", defaultValue = "60", description = "Seconds measured (default: ${DEFAULT-VALUE}).")
  int durationSeconds;

  @Option(names = "--poll-ms", defaultValue = "1000", description = "Milliseconds between GET /api/v1/hosts polls; 0 for none (default: ${DEFAULT-VALUE}).")
  int pollMs;

  @Option(names = "--ack-timeout", defaultValue = "10", description = "Seconds after the window to wait for outstanding acks (default: ${DEFAULT-VALUE}).")
  int ackTimeoutSeconds;

  @Option(names = "--json", description = "Print the summary as JSON instead of text.")
  boolean json;

  @Option(names = "--summary-file", paramLabel = "FILE", description = "Also write the JSON summary to FILE (written last, so its existence means done).")
  Path summaryFile;

  @Option(names = "--hold", defaultValue = "0", description = "Seconds to keep the agents connected and heartbeating after the summary (for heap readings).")
  int holdSeconds;

  /** Window boundaries in System.nanoTime(), published once from main; Long.MAX_VALUE until then. */
  static final class Window {
    volatile long start = Long.MAX_VALUE;
    volatile long end = Long.MAX_VALUE;

    boolean contains(long t) {
      return t >= start && t < end;
    }
  }

  public static void main(String[] args) {
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    System.exit(new CommandLine(new FleetLoad()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    if (agents < 1 || intervalSeconds < 1 || rampPerSecond < 1 || durationSeconds < 1 || warmupSeconds < 0 || pollMs < 0) {
      throw new CommandLine.ParameterException(new CommandLine(this),
          "--agents, --interval, --ramp and --duration must be at least 1; --warmup and --poll-ms at least 0");
    }
    String agentToken = Files.readString(agentTokenFile).trim();
    String viewerToken = Files.readString(viewerTokenFile).trim();
    Window window = new Window();
    int loops = 2;
    // main is the one place that creates a Vertx and waits on futures.
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(loops).setWorkerPoolSize(2));
    try {
      List<Agents> groups = new ArrayList<>();
      for (int g = 0; g < loops; g++) {
        List<Integer> mine = new ArrayList<>();
        for (int i = g; i < agents; i += loops) {
          mine.add(i);
        }
        Agents a = new Agents(this, window, agentToken, mine, Math.max(1, rampPerSecond / loops));
        groups.add(a);
        vertx.deployVerticle(a).await();
      }
      Poller poller = new Poller(this, window, viewerToken);
      if (pollMs > 0) {
        vertx.deployVerticle(poller).await();
      }
      progress("ramping up %d agents over %d member(s) at %d/s", agents, members.size(), rampPerSecond);
      long settleLimitMs = 1000L * agents / rampPerSecond + 60_000;
      Future.all(groups.stream().map(a -> a.settled.future()).toList()).timeout(settleLimitMs, TimeUnit.MILLISECONDS)
          .recover(t -> Future.succeededFuture()).await();
      int welcomed = groups.stream().mapToInt(a -> a.onContext(() -> a.welcomed).await()).sum();
      progress("%d of %d agents connected; warming up %d s", welcomed, agents, warmupSeconds);
      long start = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmupSeconds);
      window.start = start;
      window.end = start + TimeUnit.SECONDS.toNanos(durationSeconds);
      vertx.timer(warmupSeconds, TimeUnit.SECONDS).await();
      progress("measuring %d s", durationSeconds);
      vertx.timer(durationSeconds + ackTimeoutSeconds, TimeUnit.SECONDS).await();

      Stats total = new Stats();
      for (Agents a : groups) {
        total.add(a.onContext(a::snapshot).await());
      }
      PollStats polls = pollMs > 0 ? poller.onContext(poller::snapshot).await() : new PollStats();
      JsonObject summary = summary(total, polls);
      System.out.println(json ? summary.encodePrettily() : text(summary));
      if (summaryFile != null) {
        Path tmp = summaryFile.resolveSibling(summaryFile.getFileName() + ".tmp");
        Files.writeString(tmp, summary.encodePrettily() + "\n");
        Files.move(tmp, summaryFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      }
      if (holdSeconds > 0) {
        progress("holding the agents connected for %d s", holdSeconds);
        vertx.timer(holdSeconds, TimeUnit.SECONDS).await();
      }
      return summary.getLong("failures") == 0 && summary.getInteger("connected") == agents ? 0 : 3;
    } finally {
      vertx.close().await();
    }
  }

  static void progress(String format, Object... args) {
    System.err.printf("%s  fleet-load: %s%n", java.time.LocalTime.now().withNano(0), String.format(Locale.ROOT, format, args));
  }

  String host(int i) {
    return hostPrefix + String.format(Locale.ROOT, "%04d", i + 1);
  }

  // --- simulated agents, one verticle per event loop ------------------------------------------------

  /** Per-agent counters and latencies, merged over the verticles at the end. */
  static final class Stats {
    final Histogram heartbeat = new Histogram(3);
    final Histogram connect = new Histogram(3);
    long sent;
    long acked;
    long nacked;
    long unacked;
    int welcomed;
    int connectFailures;
    int disconnects;
    final List<String> errors = new ArrayList<>();

    void add(Stats o) {
      heartbeat.add(o.heartbeat);
      connect.add(o.connect);
      sent += o.sent;
      acked += o.acked;
      nacked += o.nacked;
      unacked += o.unacked;
      welcomed += o.welcomed;
      connectFailures += o.connectFailures;
      disconnects += o.disconnects;
      for (String e : o.errors) {
        if (errors.size() < 5) {
          errors.add(e);
        }
      }
    }
  }

  /** A share of the agents, all on this verticle's event loop, so their state needs no locking. */
  static final class Agents extends VerticleBase {
    final FleetLoad opts;
    final Window window;
    final String token;
    final List<Integer> indexes;
    final int rampPerSecond;
    final Promise<Void> settled = Promise.promise();
    final Stats stats = new Stats();
    final List<Agent> all = new ArrayList<>();
    WebSocketClient client;
    int welcomed;
    int done;

    Agents(FleetLoad opts, Window window, String token, List<Integer> indexes, int rampPerSecond) {
      this.opts = opts;
      this.window = window;
      this.token = token;
      this.indexes = indexes;
      this.rampPerSecond = rampPerSecond;
    }

    @Override
    public Future<?> start() {
      client = vertx.createWebSocketClient(new WebSocketClientOptions().setMaxConnections(Math.max(50, indexes.size()))
          .setConnectTimeout(30_000));
      long t0 = System.nanoTime();
      if (indexes.isEmpty()) {
        settled.tryComplete();
        return Future.succeededFuture();
      }
      // Every 50 ms open as many connections as the ramp allows by now.
      vertx.setPeriodic(0, 50, id -> {
        long due = Math.min(indexes.size(), (System.nanoTime() - t0) / 1_000_000L * rampPerSecond / 1000 + 1);
        while (all.size() < due) {
          int i = indexes.get(all.size());
          Agent a = new Agent(opts.host(i), opts.members.get(i % opts.members.size()));
          all.add(a);
          a.connect();
        }
        if (all.size() == indexes.size()) {
          vertx.cancelTimer(id);
        }
      });
      return Future.succeededFuture();
    }

    <T> Future<T> onContext(Callable<T> what) {
      return FleetLoad.onContext(context, what);
    }

    Stats snapshot() {
      Stats s = new Stats();
      s.add(stats);
      s.welcomed = welcomed - stats.disconnects;
      for (Agent a : all) {
        for (long sentAt : a.pending.values()) {
          if (window.contains(sentAt)) {
            s.unacked++;
          }
        }
      }
      return s;
    }

    void settle() {
      if (++done == indexes.size()) {
        settled.tryComplete();
      }
    }

    void error(String what) {
      if (stats.errors.size() < 5) {
        stats.errors.add(what);
      }
    }

    final class Agent {
      final String host;
      final URI member;
      final Map<Long, Long> pending = new HashMap<>();
      WebSocket ws;
      long seq;
      long timer = -1;
      long connectStarted;
      boolean isWelcomed;
      // A realistic, slowly moving WAL position: the agent archives as it goes.
      long lsn = ThreadLocalRandom.current().nextLong(1L << 24, 1L << 36);

      Agent(String host, URI member) {
        this.host = host;
        this.member = member;
      }

      void connect() {
        connectStarted = System.nanoTime();
        WebSocketConnectOptions o = new WebSocketConnectOptions().setHost(member.getHost()).setPort(member.getPort())
            .setURI(Protocol.CONNECT_PATH).putHeader("Authorization", "Bearer " + token).setTimeout(30_000);
        client.connect(o).onSuccess(w -> {
          ws = w;
          w.textMessageHandler(this::onText);
          w.closeHandler(v -> closed());
          w.exceptionHandler(t -> error(host + ": " + t));
          w.writeTextMessage(new JsonObject().put("type", Protocol.HELLO).put("host", host).put("agentVersion", "sim")
              .put("protocol", Protocol.VERSION).encode());
        }).onFailure(t -> {
          stats.connectFailures++;
          error(host + ": connect: " + t.getMessage());
          settle();
        });
      }

      void onText(String text) {
        JsonObject m = new JsonObject(text);
        switch (m.getString("type", "")) {
          case Protocol.WELCOME -> {
            if (!isWelcomed) {
              isWelcomed = true;
              welcomed++;
              stats.connect.recordValue(Math.max(0, (System.nanoTime() - connectStarted) / 1000));
              settle();
              long period = opts.intervalSeconds * 1000L;
              timer = vertx.setPeriodic(1 + ThreadLocalRandom.current().nextLong(period), period, id -> heartbeat());
            }
          }
          case Protocol.ACK -> {
            Long sentAt = pending.remove(m.getLong("seq"));
            if (sentAt != null && window.contains(sentAt)) {
              if (m.getBoolean("ok", false)) {
                stats.acked++;
                stats.heartbeat.recordValue(Math.max(0, (System.nanoTime() - sentAt) / 1000));
              } else {
                stats.nacked++;
              }
            }
          }
          case "error" -> error(host + ": coordinator said: " + m.getString("message"));
          default -> {
            // schedules, assign: a simulated agent has nothing to run
          }
        }
      }

      void heartbeat() {
        if (ws == null || ws.isClosed()) {
          return;
        }
        long n = ++seq;
        lsn += ThreadLocalRandom.current().nextLong(1 << 20);
        long segment = lsn >>> 24;
        String now = Instant.now().toString();
        // Shaped like the real agent's HostProbe output.
        JsonObject hb = new JsonObject().put("type", Protocol.HEARTBEAT).put("host", host).put("seq", n).put("at", now)
            .put("intervalSeconds", opts.intervalSeconds).putNull("runningJob")
            .put("postgres", new JsonObject().put("up", true).put("version", "16.4").put("inRecovery", false)
                .put("dataBytes", 5_000_000_000L + segment))
            .put("wal", new JsonObject().put("archiving", true)
                .put("lastArchivedWal", String.format(Locale.ROOT, "00000001%08X%08X", segment >>> 8, segment & 0xFF))
                .put("lastArchivedAt", now).putNull("lastFailedWal").putNull("lastFailedAt").put("failedCount", 0)
                .put("currentLsn", lsnText(lsn)).put("archivedUpToLsn", lsnText((segment + 1) << 24)).put("readySegments", 0))
            .put("disk", new JsonObject().put("path", "/var/lib/postgresql/16/main").put("freeBytes", 120_000_000_000L)
                .put("totalBytes", 250_000_000_000L));
        long t = System.nanoTime();
        if (window.contains(t)) {
          stats.sent++;
        }
        pending.put(n, t);
        ws.writeTextMessage(hb.encode());
      }

      void closed() {
        if (timer >= 0) {
          vertx.cancelTimer(timer);
          timer = -1;
        }
        if (isWelcomed) {
          stats.disconnects++;
          error(host + ": disconnected" + (ws.closeStatusCode() == null ? "" : " (" + ws.closeStatusCode() + " " + ws.closeReason() + ")"));
        } else {
          stats.connectFailures++;
          error(host + ": closed before welcome" + (ws.closeReason() == null ? "" : ": " + ws.closeReason()));
          settle();
        }
      }
    }
  }

  static String lsnText(long lsn) {
    return Long.toHexString(lsn >>> 32).toUpperCase(Locale.ROOT) + "/" + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase(Locale.ROOT);
  }

  // --- GET /api/v1/hosts poller -----------------------------------------------------------------------

  static final class PollStats {
    final Histogram latency = new Histogram(3);
    long polls;
    long ok;
    long errors;
    long incomplete;
    long skipped;
    long bytesLast;
    long bytesMax;
    long listedMin = Long.MAX_VALUE;
    String lastError;
  }

  /** Polls the members in turn; a poll due while the previous one is still out is skipped and counted. */
  static final class Poller extends VerticleBase {
    final FleetLoad opts;
    final Window window;
    final String token;
    final PollStats stats = new PollStats();
    HttpClient http;
    int next;
    boolean inFlight;

    Poller(FleetLoad opts, Window window, String token) {
      this.opts = opts;
      this.window = window;
      this.token = token;
    }

    @Override
    public Future<?> start() {
      http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setConnectTimeout(10_000));
      vertx.setPeriodic(opts.pollMs, opts.pollMs, id -> poll());
      return Future.succeededFuture();
    }

    <T> Future<T> onContext(Callable<T> what) {
      return FleetLoad.onContext(context, what);
    }

    PollStats snapshot() {
      return stats;
    }

    void poll() {
      long t0 = System.nanoTime();
      boolean counted = window.contains(t0);
      if (inFlight) {
        if (counted) {
          stats.skipped++;
        }
        return;
      }
      inFlight = true;
      URI m = opts.members.get(next++ % opts.members.size());
      RequestOptions ro = new RequestOptions().setMethod(HttpMethod.GET).setHost(m.getHost()).setPort(m.getPort())
          .setURI("/api/v1/hosts").putHeader("Authorization", "Bearer " + token).setTimeout(30_000);
      http.request(ro).compose(req -> req.send()).compose(resp -> resp.body().map(body -> new Reply(resp, body)))
          .compose(r -> {
            long micros = (System.nanoTime() - t0) / 1000;
            if (r.resp.statusCode() != 200) {
              return Future.failedFuture("HTTP " + r.resp.statusCode() + ": " + r.body.toString().substring(0, Math.min(200, r.body.length())));
            }
            // Parsing a few MB of JSON would stall this event loop (and the agents' timing): do it on a worker.
            return vertx.executeBlocking(() -> listed(r.body), false).map(n -> new long[] {micros, r.body.length(), n});
          })
          .onComplete(ar -> {
            inFlight = false;
            if (!counted) {
              return;
            }
            stats.polls++;
            if (ar.failed()) {
              stats.errors++;
              stats.lastError = m + ": " + ar.cause().getMessage();
              return;
            }
            long[] v = ar.result();
            stats.ok++;
            stats.latency.recordValue(v[0]);
            stats.bytesLast = v[1];
            stats.bytesMax = Math.max(stats.bytesMax, v[1]);
            stats.listedMin = Math.min(stats.listedMin, v[2]);
            if (v[2] < opts.agents) {
              stats.incomplete++;
            }
          });
    }

    /** How many of the simulated hosts the list names. */
    long listed(Buffer body) {
      JsonArray a = new JsonArray(body);
      long n = 0;
      for (int i = 0; i < a.size(); i++) {
        String h = a.getJsonObject(i).getString("host", "");
        if (h.startsWith(opts.hostPrefix)) {
          try {
            int k = Integer.parseInt(h.substring(opts.hostPrefix.length()));
            if (k >= 1 && k <= opts.agents) {
              n++;
            }
          } catch (NumberFormatException e) {
            // a host of someone else's
          }
        }
      }
      return n;
    }

    record Reply(HttpClientResponse resp, Buffer body) {}
  }

  // --- summary ---------------------------------------------------------------------------------------

  JsonObject summary(Stats s, PollStats p) {
    long failures = s.connectFailures + s.disconnects + s.nacked + s.unacked + p.errors + p.incomplete;
    JsonObject hb = new JsonObject().put("sent", s.sent).put("acked", s.acked).put("nacked", s.nacked).put("unacked", s.unacked)
        .put("perSecond", round((double) s.sent / durationSeconds)).mergeIn(percentiles(s.heartbeat, true));
    JsonObject hosts = new JsonObject().put("polls", p.polls).put("ok", p.ok).put("errors", p.errors).put("incomplete", p.incomplete)
        .put("skippedWhileBusy", p.skipped).put("hostsListedMin", p.ok == 0 ? null : p.listedMin)
        .put("bytesLast", p.bytesLast).put("bytesMax", p.bytesMax).mergeIn(percentiles(p.latency, false));
    if (p.lastError != null) {
      hosts.put("lastError", p.lastError);
    }
    return new JsonObject().put("agents", agents).put("members", new JsonArray(members.stream().map(URI::toString).toList()))
        .put("intervalSeconds", intervalSeconds).put("warmupSeconds", warmupSeconds).put("durationSeconds", durationSeconds)
        .put("pollMs", pollMs).put("connected", s.welcomed).put("connectFailures", s.connectFailures).put("disconnects", s.disconnects)
        .put("connect", percentiles(s.connect, false)).put("heartbeat", hb).put("hostsList", hosts).put("failures", failures)
        .put("errors", new JsonArray(s.errors));
  }

  static JsonObject percentiles(Histogram h, boolean p90) {
    JsonObject o = new JsonObject().put("p50Ms", ms(h, 50));
    if (p90) {
      o.put("p90Ms", ms(h, 90));
    }
    return o.put("p99Ms", ms(h, 99)).put("maxMs", h.getTotalCount() == 0 ? null : round(h.getMaxValue() / 1000.0));
  }

  static Double ms(Histogram h, double percentile) {
    return h.getTotalCount() == 0 ? null : round(h.getValueAtPercentile(percentile) / 1000.0);
  }

  static double round(double v) {
    return Math.round(v * 10) / 10.0;
  }

  static String text(JsonObject s) {
    JsonObject hb = s.getJsonObject("heartbeat");
    JsonObject hl = s.getJsonObject("hostsList");
    JsonObject c = s.getJsonObject("connect");
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "fleet-load: %d agents over %d member(s), heartbeat every %d s; warm-up %d s, measured %d s%n",
        s.getInteger("agents"), s.getJsonArray("members").size(), s.getInteger("intervalSeconds"), s.getInteger("warmupSeconds"),
        s.getInteger("durationSeconds")));
    b.append(String.format(Locale.ROOT, "  agents connected   %d (connect failures %d, disconnects %d); connect p50 %s ms, p99 %s ms%n",
        s.getInteger("connected"), s.getInteger("connectFailures"), s.getInteger("disconnects"), c.getValue("p50Ms"), c.getValue("p99Ms")));
    b.append(String.format(Locale.ROOT, "  heartbeats         sent %d (%.1f/s), acked %d, nacked %d, unacked %d%n", hb.getLong("sent"),
        hb.getDouble("perSecond"), hb.getLong("acked"), hb.getLong("nacked"), hb.getLong("unacked")));
    b.append(String.format(Locale.ROOT, "  heartbeat ack      p50 %s ms, p90 %s ms, p99 %s ms, max %s ms%n", hb.getValue("p50Ms"),
        hb.getValue("p90Ms"), hb.getValue("p99Ms"), hb.getValue("maxMs")));
    b.append(String.format(Locale.ROOT, "  GET /api/v1/hosts  %d polls (%d ok, %d errors, %d incomplete, %d skipped while busy); "
        + "p50 %s ms, p99 %s ms, max %s ms; %d bytes, %s hosts listed (min)%n", hl.getLong("polls"), hl.getLong("ok"),
        hl.getLong("errors"), hl.getLong("incomplete"), hl.getLong("skippedWhileBusy"), hl.getValue("p50Ms"), hl.getValue("p99Ms"),
        hl.getValue("maxMs"), hl.getLong("bytesLast"), hl.getValue("hostsListedMin")));
    if (hl.getString("lastError") != null) {
      b.append("  last hosts-list error: ").append(hl.getString("lastError")).append('\n');
    }
    b.append(String.format(Locale.ROOT, "  failures           %d%n", s.getLong("failures")));
    for (Object e : s.getJsonArray("errors")) {
      b.append("  e.g. ").append(e).append('\n');
    }
    return b.toString();
  }

  /** Reads a verticle's state on its own context (where it is written), from the main thread. */
  static <T> Future<T> onContext(io.vertx.core.Context context, Callable<T> what) {
    Promise<T> p = Promise.promise();
    context.runOnContext(v -> {
      try {
        p.complete(what.call());
      } catch (Exception e) {
        p.fail(e);
      }
    });
    return p.future();
  }
}
