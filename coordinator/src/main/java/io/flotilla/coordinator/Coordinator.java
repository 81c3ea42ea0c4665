package io.flotilla.coordinator;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import io.flotilla.config.CoordinatorConfig;
import io.flotilla.coordinator.api.ApiServer;
import io.flotilla.coordinator.catalog.BackupCatalog;
import io.flotilla.coordinator.compliance.Compliance;
import io.flotilla.coordinator.compliance.ComplianceWatcher;
import io.flotilla.coordinator.fleet.AgentGateway;
import io.flotilla.coordinator.fleet.Fleet;
import io.flotilla.coordinator.jobs.Jobs;
import io.flotilla.coordinator.leader.LeaderElection;
import io.flotilla.coordinator.policy.Policies;
import io.flotilla.coordinator.schedule.Scheduler;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One coordinator member: a clustered Vert.x instance (Hazelcast, TCP/IP join) running the leader
 * election, scheduler, compliance watcher, agent gateway and API. Members are equal; the leader
 * alone schedules and announces compliance changes, any member serves the API and agents.
 */
public final class Coordinator {
  private static final Logger LOG = LoggerFactory.getLogger(Coordinator.class);
  /** Event-bus address every member publishes notifications on (one line each in the log too). */
  public static final String EVENTS = "flotilla.events";

  /**
   * Intervals (tests shorten them).
   *
   * @param schedulerTick how often the leader checks schedules
   * @param complianceInterval how often the leader re-evaluates compliance
   * @param catalogRefresh how often members re-read the repositories' listings
   */
  public record Tuning(Duration schedulerTick, Duration complianceInterval, Duration catalogRefresh) {
    public static final Tuning DEFAULT = new Tuning(Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofMinutes(5));
  }

  private final Vertx vertx;
  private final HazelcastClusterManager cluster;
  private final LeaderElection leader;
  private final ApiServer api;

  private Coordinator(Vertx vertx, HazelcastClusterManager cluster, LeaderElection leader, ApiServer api) {
    this.vertx = vertx;
    this.cluster = cluster;
    this.leader = leader;
    this.api = api;
  }

  public static Future<Coordinator> start(CoordinatorConfig config, Tuning tuning, Events extraEvents) {
    HazelcastClusterManager cluster = new HazelcastClusterManager(hazelcast(config.cluster()));
    VertxOptions options = new VertxOptions().setEventLoopPoolSize(2).setWorkerPoolSize(4);
    options.getEventBusOptions().setHost(config.cluster().host()).setPort(0);
    return Vertx.builder().with(options).withClusterManager(cluster).buildClustered().compose(vertx -> {
      String member = config.cluster().memberName();
      LeaderElection leader = new LeaderElection(member, config.cluster().lease());
      Policies policies = new Policies(vertx, config);
      Fleet fleet = new Fleet(vertx);
      Jobs jobs = new Jobs(vertx);
      BackupCatalog catalog = new BackupCatalog(vertx, vertx.getOrCreateContext(), config.repositories());
      Compliance compliance = new Compliance(fleet, catalog, policies);
      io.flotilla.coordinator.notify.Notifications notifications = io.flotilla.coordinator.notify.Notifications.create(vertx,
          config.notifications());
      Events events = (event, host, jobId, policy, message, details) -> {
        JsonObject e = new JsonObject().put("event", event).put("host", host).put("jobId", jobId).put("policy", policy)
            .put("message", message).put("details", details).put("at", Instant.now().toString()).put("member", member);
        vertx.eventBus().publish(EVENTS, e);
        notifications.publish(new io.flotilla.coordinator.notify.Notification(event, host, jobId, policy, message,
            details == null ? java.util.Map.of() : details.getMap(), Instant.now()));
        if (extraEvents != null) {
          extraEvents.publish(event, host, jobId, policy, message, details);
        }
      };
      Scheduler[] scheduler = new Scheduler[1];
      AgentGateway gateway = new AgentGateway(vertx, member, fleet, jobs, policies,
          job -> onJobReport(vertx, job, policies, jobs, scheduler[0], leader, events));
      scheduler[0] = new Scheduler(leader, fleet, policies, jobs, gateway, tuning.schedulerTick().toMillis());
      ApiServer api = new ApiServer(new ApiServer.Services(config, leader, fleet, jobs, policies, catalog, compliance, gateway, scheduler[0],
          () -> vertx.sharedData().getCounter(FAILURES).compose(c -> c.get()), () -> cluster.getNodes().size()));
      ComplianceWatcher watcher = new ComplianceWatcher(leader, compliance, events, tuning.complianceInterval().toMillis());
      return policies.start(config.policies())
          .compose(v -> fleet.start())
          .compose(v -> gateway.start())
          .compose(v -> catalog.start(tuning.catalogRefresh().toMillis()))
          .compose(v -> vertx.deployVerticle(leader))
          .compose(v -> vertx.deployVerticle(scheduler[0]))
          .compose(v -> vertx.deployVerticle(watcher))
          .compose(v -> vertx.deployVerticle(api))
          .map(v -> new Coordinator(vertx, cluster, leader, api))
          .recover(t -> vertx.close().transform(x -> Future.failedFuture(t)));
    });
  }

  private static final String FAILURES = "flotilla.jobs.failed";

  private static void onJobReport(Vertx vertx, JsonObject job, Policies policies, Jobs jobs, Scheduler scheduler, LeaderElection leader,
      Events events) {
    if (!job.getBoolean(Jobs.CHANGED, false)) {
      return;
    }
    String state = job.getString("state");
    String host = job.getString("host");
    if (Jobs.FAILED.equals(state)) {
      vertx.sharedData().getCounter(FAILURES).compose(c -> c.incrementAndGet());
      events.publish("job-failed", host, job.getString("id"), job.getString("policy"),
          "job " + job.getString("id") + " failed: " + job.getString("error", "no reason given"), job);
    } else if (Jobs.SUCCEEDED.equals(state) && job.getString("backupId") != null) {
      vertx.eventBus().publish(io.flotilla.coordinator.catalog.BackupCatalog.CHANGED, job.copy().put("host", host));
      // Retention follows each successful scheduled backup of a policy that keeps less than everything.
      policies.get(job.getString("policy", "")).filter(p -> !p.retention().keepsEverything()).ifPresent(p -> {
        String id = job.getString("id");
        String expireId = host + "/" + p.name() + ":expire/" + id.substring(id.lastIndexOf('/') + 1);
        leader.current().compose(term -> term == null ? Future.succeededFuture() : jobs.create(Scheduler.assignment(host, p, expireId,
            term.epoch()).put("leader", term.member()).put("kind", "expire").put("fireTime", job.getString("fireTime"))).compose(created -> created.isNew()
            ? scheduler.dispatch(created.job()) : Future.succeededFuture()));
      });
    }
  }

  private static Config hazelcast(CoordinatorConfig.Cluster c) {
    Config config = ConfigUtil.loadConfig();
    config.setClusterName(c.clusterName());
    config.setProperty("hazelcast.logging.type", "slf4j");
    config.setProperty("hazelcast.phone.home.enabled", "false");
    config.setProperty("hazelcast.wait.seconds.before.join", "0");
    // Notice a dead member within seconds, so a new leader takes over quickly.
    config.setProperty("hazelcast.heartbeat.interval.seconds", "1");
    config.setProperty("hazelcast.max.no.heartbeat.seconds", "6");
    config.setProperty("hazelcast.shutdownhook.enabled", "false");
    NetworkConfig net = config.getNetworkConfig();
    net.setPort(c.port()).setPortAutoIncrement(false);
    net.getInterfaces().setEnabled(true).addInterface(c.host());
    config.setProperty("hazelcast.socket.bind.any", "false");
    JoinConfig join = net.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    join.getTcpIpConfig().setEnabled(true).setMembers(c.members().isEmpty() ? java.util.List.of(c.host() + ":" + c.port()) : c.members());
    return config;
  }

  public Vertx vertx() {
    return vertx;
  }

  public int apiPort() {
    return api.port();
  }

  public boolean isLeader() {
    return leader.isLeader();
  }

  public String memberName() {
    return leader.memberName();
  }

  /** Leaves the cluster cleanly: the lease is handed over at once. */
  public Future<Void> stop() {
    LOG.info("member {}: stopping", leader.memberName());
    return vertx.close();
  }

  /**
   * Dies without a goodbye, as a killed process does: the cluster connection is cut first, so the
   * other members must detect the loss and wait out the lease. For failover tests.
   */
  public Future<Void> crash() {
    LOG.warn("member {}: crashing (tests)", leader.memberName());
    cluster.getHazelcastInstance().getLifecycleService().terminate();
    return vertx.close().otherwiseEmpty().timeout(10, TimeUnit.SECONDS).otherwiseEmpty().mapEmpty();
  }
}
