package io.flotilla.coordinator.api;

import io.flotilla.config.CoordinatorConfig;
import io.flotilla.config.CoordinatorConfig.Role;
import io.flotilla.config.CoordinatorConfigLoader;
import io.flotilla.coordinator.catalog.BackupCatalog;
import io.flotilla.coordinator.compliance.Compliance;
import io.flotilla.coordinator.fleet.AgentGateway;
import io.flotilla.coordinator.fleet.Fleet;
import io.flotilla.coordinator.jobs.Jobs;
import io.flotilla.coordinator.leader.LeaderElection;
import io.flotilla.coordinator.metrics.PrometheusText;
import io.flotilla.coordinator.policy.Policies;
import io.flotilla.coordinator.schedule.Scheduler;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.protocol.Protocol;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP face of a member: REST API under /api/v1 (OpenAPI document at /api/v1/openapi.json),
 * /metrics, /health, and the agents' WebSocket endpoint. Every route but /health needs a bearer
 * token; roles: viewer reads, operator starts backups, admin edits policies, agent connects.
 */
public final class ApiServer extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
  private static final String TOKEN = "flotilla.token";

  /** Everything the API reads or drives. */
  public record Services(CoordinatorConfig config, LeaderElection leader, Fleet fleet, Jobs jobs, Policies policies,
      BackupCatalog catalog, Compliance compliance, AgentGateway gateway, Scheduler scheduler, Supplier<Future<Long>> jobFailures,
      Supplier<Integer> members) {}

  private final Services s;
  private final Map<String, CoordinatorConfig.Token> tokens = new HashMap<>();
  private HttpServer server;

  public ApiServer(Services services) {
    this.s = services;
    services.config().tokens().forEach(t -> tokens.put(t.sha256(), t));
  }

  /** The port the server listens on (useful when the config says 0). */
  public int port() {
    return server.actualPort();
  }

  @Override
  public Future<?> start() {
    return vertx.executeBlocking(ApiServer::openApi, false).compose(doc -> listen());
  }

  private Future<?> listen() {
    Router r = Router.router(vertx);
    r.get("/health").handler(this::health);
    r.route().handler(this::authenticate);
    r.get(Protocol.CONNECT_PATH).handler(ctx -> {
      if (!role(ctx, Role.AGENT)) {
        return;
      }
      CoordinatorConfig.Token t = ctx.get(TOKEN);
      ctx.request().toWebSocket().onSuccess(ws -> s.gateway().accept(ws, t))
          .onFailure(e -> LOG.debug("agent WebSocket upgrade failed: {}", e.toString()));
    });
    r.route("/api/v1/*").handler(BodyHandler.create().setBodyLimit(64 * 1024));
    r.get("/metrics").handler(ctx -> viewer(ctx, () -> s.jobFailures().get().map(failures -> {
      ctx.response().putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      return PrometheusText.render(s.fleet(), s.catalog(), s.compliance(), failures, s.members().get(), s.leader().isLeader(),
          Instant.now());
    })));
    r.get("/api/v1/openapi.json").handler(ctx -> viewer(ctx, () -> Future.succeededFuture(new JsonObject(openApi()))));
    r.get("/api/v1/cluster").handler(ctx -> viewer(ctx, () -> s.leader().current().map(term -> new JsonObject()
        .put("member", s.leader().memberName()).put("members", s.members().get())
        .put("leader", term == null ? null : new JsonObject().put("member", term.member()).put("epoch", term.epoch())
            .put("leaseExpiresAt", Instant.ofEpochMilli(term.expiresAt()).toString())))));
    // Thousands of hosts make a list of megabytes: built and encoded on a worker, not on the event loop
    // that also carries this member's agent sockets (it delayed their heartbeat acks by as long).
    // The list is rebuilt every second in the background (from start-up, and for ten minutes after each
    // read) and requests get the newest copy, at most a few seconds old (heartbeats arrive every ten),
    // so a request never waits for the build; a copy older than 5 s is rebuilt first.
    r.get("/api/v1/hosts").handler(ctx -> viewer(ctx, () -> {
      hostsWanted = System.currentTimeMillis();
      Buffer cached = hostsList;
      return cached != null && System.currentTimeMillis() - hostsBuiltAt < 5000 ? Future.succeededFuture(cached) : rebuildHosts();
    }));
    hostsWanted = System.currentTimeMillis();
    vertx.setPeriodic(1000, id -> {
      if (System.currentTimeMillis() - hostsWanted < 600_000) {
        rebuildHosts();
      }
    });
    r.get("/api/v1/hosts/:host").handler(ctx -> viewer(ctx, () -> Future.succeededFuture(host(ctx.pathParam("host")))));
    r.get("/api/v1/hosts/:host/backups").handler(ctx -> viewer(ctx, () -> {
      host(ctx.pathParam("host"));
      return Future.succeededFuture(new JsonArray(List.copyOf(s.catalog().backups(ctx.pathParam("host")))));
    }));
    r.post("/api/v1/hosts/:host/backups").handler(ctx -> {
      if (role(ctx, Role.OPERATOR)) {
        respond(ctx, 202, () -> onDemand(ctx));
      }
    });
    r.get("/api/v1/jobs").handler(ctx -> viewer(ctx, () -> s.jobs().list(ctx.queryParams().get("host"), ctx.queryParams().get("state"),
        parseLimit(ctx.queryParams().get("limit"))).map(l -> new JsonArray(List.copyOf(l)))));
    r.get("/api/v1/jobs/:host/:policy/:fire").handler(ctx -> viewer(ctx, () -> {
      String id = ctx.pathParam("host") + "/" + ctx.pathParam("policy") + "/" + ctx.pathParam("fire");
      return s.jobs().get(id).map(j -> {
        if (j == null) {
          throw new FlotillaException(ErrorCode.NOT_FOUND, "no job '" + id + "'");
        }
        return j;
      });
    }));
    r.get("/api/v1/compliance").handler(ctx -> viewer(ctx, () -> vertx.executeBlocking(() -> new JsonArray(List.copyOf(
        s.compliance().all(Instant.now()))).toBuffer(), false)));
    r.get("/api/v1/policies").handler(ctx -> viewer(ctx, () -> Future.succeededFuture(new JsonArray(
        s.policies().all().stream().map(Policies::toJson).toList()))));
    r.get("/api/v1/policies/:name").handler(ctx -> viewer(ctx, () -> Future.succeededFuture(Policies.toJson(
        s.policies().get(ctx.pathParam("name")).orElseThrow(() -> new FlotillaException(ErrorCode.NOT_FOUND,
            "no policy '" + ctx.pathParam("name") + "'"))))));
    r.put("/api/v1/policies/:name").handler(ctx -> {
      if (role(ctx, Role.ADMIN)) {
        respond(ctx, 200, () -> s.policies().put(ctx.pathParam("name"), body(ctx)).map(p -> {
          LOG.info("policy {} set by token '{}'", p.name(), ((CoordinatorConfig.Token) ctx.get(TOKEN)).name());
          return Policies.toJson(p);
        }));
      }
    });
    r.delete("/api/v1/policies/:name").handler(ctx -> {
      if (role(ctx, Role.ADMIN)) {
        respond(ctx, 200, () -> s.policies().delete(ctx.pathParam("name")).map(found -> {
          if (!found) {
            throw new FlotillaException(ErrorCode.NOT_FOUND, "no policy '" + ctx.pathParam("name") + "'");
          }
          return new JsonObject().put("deleted", ctx.pathParam("name"));
        }));
      }
    });
    r.route().last().handler(ctx -> error(ctx, new FlotillaException(ErrorCode.NOT_FOUND, "no such endpoint: " + ctx.request().method()
        + " " + ctx.request().path() + " (see /api/v1/openapi.json)")));
    r.route().failureHandler(ctx -> error(ctx, ctx.failure() == null
        ? new FlotillaException(ctx.statusCode() == 413 ? ErrorCode.USAGE : ErrorCode.INTERNAL, "request failed with status " + ctx.statusCode())
        : FlotillaException.of(ctx.failure())));

    CoordinatorConfig.Api api = s.config().api();
    return vertx.createHttpServer(new HttpServerOptions().setHost(api.host()).setPort(api.port()).setIdleTimeout(120))
        .requestHandler(r).listen().onSuccess(srv -> {
          server = srv;
          LOG.info("member {}: API listening on {}:{}", s.leader().memberName(), api.host(), srv.actualPort());
        });
  }

  private void health(RoutingContext ctx) {
    JsonObject h = new JsonObject().put("status", "UP").put("member", s.leader().memberName()).put("leader", s.leader().isLeader())
        .put("members", s.members().get()).put("agentsConnectedHere", s.gateway().connected());
    ctx.response().putHeader("Content-Type", "application/json").end(h.encode());
  }

  private void authenticate(RoutingContext ctx) {
    String auth = ctx.request().getHeader("Authorization");
    if (auth == null || !auth.regionMatches(true, 0, "Bearer ", 0, 7) || auth.length() < 8) {
      ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"flotilla\"");
      error(ctx, new FlotillaException(ErrorCode.UNAUTHENTICATED, "missing bearer token (send Authorization: Bearer <token>)"));
      return;
    }
    CoordinatorConfig.Token t = tokens.get(CoordinatorConfigLoader.sha256(auth.substring(7).strip()));
    if (t == null) {
      LOG.warn("refused a request to {} {} from {}: unknown token", ctx.request().method(), ctx.request().path(),
          ctx.request().remoteAddress());
      error(ctx, new FlotillaException(ErrorCode.UNAUTHENTICATED, "unknown or revoked token"));
      return;
    }
    ctx.put(TOKEN, t);
    ctx.next();
  }

  private boolean role(RoutingContext ctx, Role needed) {
    CoordinatorConfig.Token t = ctx.get(TOKEN);
    if (t.role().allows(needed)) {
      return true;
    }
    error(ctx, new FlotillaException(ErrorCode.FORBIDDEN, "token '" + t.name() + "' has role " + t.role().name().toLowerCase()
        + "; this needs " + needed.name().toLowerCase()));
    return false;
  }

  private void viewer(RoutingContext ctx, Supplier<Future<?>> work) {
    if (role(ctx, Role.VIEWER)) {
      respond(ctx, 200, work);
    }
  }

  private void respond(RoutingContext ctx, int status, Supplier<? extends Future<?>> work) {
    Future<?> f;
    try {
      f = work.get();
    } catch (RuntimeException e) {
      f = Future.failedFuture(e);
    }
    f.onSuccess(result -> {
      if (ctx.response().ended()) {
        return;
      }
      if (result instanceof String text) {
        ctx.response().setStatusCode(status).end(text);
      } else if (result instanceof Buffer json) {
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(json);
      } else {
        Buffer b = result instanceof JsonObject o ? o.toBuffer() : ((JsonArray) result).toBuffer();
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(b);
      }
    }).onFailure(t -> error(ctx, FlotillaException.of(t)));
  }

  private static void error(RoutingContext ctx, FlotillaException e) {
    if (ctx.response().ended()) {
      return;
    }
    if (e.code() == ErrorCode.INTERNAL) {
      LOG.warn("{} {} failed: {}", ctx.request().method(), ctx.request().path(), e.getMessage());
    }
    ctx.response().setStatusCode(e.code().httpStatus()).putHeader("Content-Type", "application/json")
        .end(new JsonObject().put("error", e.code().name().toLowerCase()).put("message", e.getMessage()).encode());
  }

  private static JsonObject body(RoutingContext ctx) {
    try {
      JsonObject o = ctx.body().asJsonObject();
      if (o == null) {
        throw new FlotillaException(ErrorCode.USAGE, "expected a JSON object in the request body");
      }
      return o;
    } catch (io.vertx.core.json.DecodeException | ClassCastException e) {
      throw new FlotillaException(ErrorCode.USAGE, "request body is not a JSON object");
    }
  }

  private static int parseLimit(String s) {
    if (s == null) {
      return 500;
    }
    try {
      return Math.max(1, Math.min(10_000, Integer.parseInt(s)));
    } catch (NumberFormatException e) {
      throw new FlotillaException(ErrorCode.USAGE, "limit must be a number, got '" + s + "'");
    }
  }

  private volatile Buffer hostsList;
  private volatile long hostsBuiltAt;
  private volatile long hostsWanted;
  private Future<Buffer> building;

  private Future<Buffer> rebuildHosts() {
    if (building == null) {
      building = vertx.executeBlocking(() -> hosts().toBuffer(), false).onSuccess(b -> {
        hostsList = b;
        hostsBuiltAt = System.currentTimeMillis();
      })
          .eventually(() -> {
            building = null;
            return Future.succeededFuture();
          });
    }
    return building;
  }

  private JsonArray hosts() {
    JsonArray out = new JsonArray();
    Instant now = Instant.now();
    for (String h : s.compliance().hosts()) {
      out.add(view(h, now));
    }
    return out;
  }

  private JsonObject host(String name) {
    if (!s.compliance().hosts().contains(name)) {
      throw new FlotillaException(ErrorCode.NOT_FOUND, "unknown host '" + name + "' (GET /api/v1/hosts lists the known ones)");
    }
    return view(name, Instant.now());
  }

  private JsonObject view(String host, Instant now) {
    Optional<JsonObject> state = s.fleet().host(host);
    JsonObject v = new JsonObject().put("host", host);
    state.ifPresent(st -> {
      for (String k : List.of("connected", "member", "lastSeen", "agentVersion", "registeredAt", "heartbeat", "unarchivedSince")) {
        if (st.containsKey(k)) {
          v.put(k, st.getValue(k));
        }
      }
    });
    if (state.isEmpty()) {
      v.put("connected", false);
    }
    List<JsonObject> backups = s.catalog().backups(host);
    v.put("backups", backups.size());
    if (!backups.isEmpty()) {
      v.put("newestBackup", backups.get(0));
    }
    v.put("policies", new JsonArray(s.policies().forHost(host).stream().map(p -> p.name()).toList()));
    v.put("compliance", s.compliance().evaluate(host, now));
    return v;
  }

  private Future<JsonObject> onDemand(RoutingContext ctx) {
    String host = ctx.pathParam("host");
    host(host);
    JsonObject body = ctx.body().length() == 0 ? new JsonObject() : body(ctx);
    JsonObject job;
    String jobId = host + "/" + Protocol.ON_DEMAND + "/" + Instant.now();
    if (body.containsKey("policy")) {
      CoordinatorConfig.Policy p = s.policies().get(body.getString("policy")).orElseThrow(() -> new FlotillaException(ErrorCode.NOT_FOUND,
          "no policy '" + body.getString("policy") + "'"));
      job = Scheduler.assignment(host, p, jobId, 0).put("label", body.getString("label", "manual"));
    } else {
      JsonObject policyLike = body.copy().put("name", "on-demand").put("hosts", new JsonArray().add(host));
      policyLike.put("label", body.getString("label", "manual"));
      if (!"physical".equals(body.getString("kind")) && !body.containsKey("databases") && !body.containsKey("all")) {
        policyLike.put("all", true);
      }
      CoordinatorConfig.Policy p;
      try {
        p = CoordinatorConfigLoader.policy(new com.fasterxml.jackson.databind.ObjectMapper().readTree(policyLike.encode()),
            java.util.Set.copyOf(s.config().repositories().stream().map(rc -> rc.name()).toList()));
      } catch (IOException e) {
        throw new FlotillaException(ErrorCode.USAGE, "request body is not valid JSON");
      } catch (FlotillaException e) {
        throw new FlotillaException(ErrorCode.USAGE, e.getMessage().replace("policy key ", "key "));
      }
      job = Scheduler.assignment(host, p, jobId, 0).put("policy", Protocol.ON_DEMAND);
    }
    CoordinatorConfig.Token t = ctx.get(TOKEN);
    job.put("requestedBy", t.name());
    return s.leader().current().compose(term -> {
      if (term == null || term.expiresAt() < System.currentTimeMillis()) {
        return Future.failedFuture(new FlotillaException(ErrorCode.UNAVAILABLE, "no leader elected right now; retry in a few seconds"));
      }
      job.put("epoch", term.epoch()).put("leader", term.member());
      return s.jobs().create(job);
    }).compose(created -> {
      LOG.info("host {} job {}: on-demand backup requested by token '{}'", host, jobId, t.name());
      return s.scheduler().dispatch(created.job()).map(v -> new JsonObject().put("jobId", jobId).put("state", created.job().getString("state"))
          .put("href", "/api/v1/jobs/" + jobId));
    });
  }

  private static String openApiText;

  private static synchronized String openApi() {
    if (openApiText == null) {
      try (InputStream in = ApiServer.class.getResourceAsStream("/openapi.json")) {
        openApiText = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException | NullPointerException e) {
        throw new FlotillaException(ErrorCode.INTERNAL, "openapi.json missing from the build");
      }
    }
    return openApiText;
  }
}
