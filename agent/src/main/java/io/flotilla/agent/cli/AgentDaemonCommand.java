package io.flotilla.agent.cli;

import io.flotilla.agent.backup.LogicalBackup;
import io.flotilla.agent.coordinator.CoordinatorClient;
import io.flotilla.agent.coordinator.HostProbe;
import io.flotilla.agent.physical.PhysicalBackup;
import io.flotilla.agent.progress.Progress;
import io.flotilla.agent.replication.ReplicationStatus;
import io.flotilla.agent.replication.ReplicationVerticle;
import io.flotilla.agent.wal.WalArchive;
import io.flotilla.error.ErrorCode;
import io.flotilla.error.FlotillaException;
import io.flotilla.manifest.Manifest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import io.flotilla.agent.wal.WalArchiver;
import io.flotilla.repo.Repository;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "agent", description = {
    "The long-running agent daemon: the WAL service (pushes WAL files PostgreSQL has marked ready ahead of",
    "archive_command, several in parallel) and, with coordinator: in the config, the coordinator connection",
    "(heartbeats, assigned backups; cached schedules keep running while no coordinator is reachable), and replication",
    "into every repository with replicate-from: (every interval:, or continuously)."})
final class AgentDaemonCommand extends AgentCommand {
  @Option(names = "--wal-parallel", paramLabel = "N", defaultValue = "4", description = "WAL files pushed at once (default: ${DEFAULT-VALUE}).")
  int parallel;

  /** Tells the launcher's wal-push fast path that a daemon is pushing: it then waits for the daemon's marker. */
  static java.nio.file.Path pidFile(Session s) {
    return s.config.spoolDirectory().resolve("agent.pid");
  }

  private static Future<Void> writePid(Session s) {
    return s.vertx.executeBlocking(() -> {
      java.nio.file.Files.createDirectories(s.config.spoolDirectory());
      java.nio.file.Files.writeString(pidFile(s), ProcessHandle.current().pid() + "\n");
      return null;
    }, false);
  }

  /** Runs one job the coordinator (or the cached schedule) assigned, in this process. */
  private static CoordinatorClient.Running runJob(Session s, JsonObject a) {
    Progress quiet = new Progress(System.err, false, false);
    return new CoordinatorClient.Running(job(s, a, quiet), () -> new JsonObject().put("plainBytes", quiet.plainBytes())
        .put("storedBytes", quiet.storedBytes()));
  }

  private static Future<JsonObject> job(Session s, JsonObject a, Progress quiet) {
    String kind = a.getString("kind", "logical");
    String repo = a.getString("repository");
    String label = a.getString("label", "daily");
    return switch (kind) {
      case "logical" -> s.repository(repo, true).compose(r -> new LogicalBackup(s.vertx, s.config, s.pg, r, quiet)
          .run(new LogicalBackup.Request(strings(a.getJsonArray("databases")), a.getBoolean("all", false), label))
          .eventually(r::close)).map(AgentDaemonCommand::result);
      case "physical" -> s.repository(repo, true).compose(r -> new PhysicalBackup(s.vertx, s.config, r, quiet, Duration.ofSeconds(300))
          .run(label).eventually(r::close)).map(AgentDaemonCommand::result);
      case "volume" -> {
        List<String> names = a.getBoolean("all", false)
            ? s.config.volumes().stream().map(io.flotilla.config.VolumeConfig::name).toList() : strings(a.getJsonArray("volumes"));
        if (names.isEmpty()) {
          yield Future.failedFuture(new FlotillaException(ErrorCode.CONFIG, "the policy asks for volumes but none are configured on this host"
              + " (config key volumes)"));
        }
        yield s.repository(repo, true).compose(r -> new io.flotilla.agent.volume.VolumeBackup(s.vertx, s.config, r, quiet)
            .run(new io.flotilla.agent.volume.VolumeBackup.Request(names, a.getBoolean("incremental", false), label))
            .eventually(r::close)).map(AgentDaemonCommand::result);
      }
      case "expire" -> {
        io.flotilla.retention.RetentionPolicy policy = io.flotilla.config.ConfigLoader.retention(
            io.flotilla.manifest.Manifests.JSON.valueToTree(a.getJsonObject("retention", new JsonObject()).getMap()));
        yield s.repository(repo, false).compose(rp -> new io.flotilla.agent.retention.Expiry(rp).run(s.config.host(), policy, false)
            .eventually(rp::close)).map(res -> new JsonObject()
            .put("expired", new JsonArray(res.plan().expired().stream().map(d -> d.backup().backupId()).toList()))
            .put("kept", res.plan().kept().size()).put("walRemoved", res.walRemoved().size()));
      }
      default -> Future.failedFuture(new FlotillaException(ErrorCode.USAGE, "this agent cannot run jobs of kind '" + kind + "'"));
    };
  }

  private static List<String> strings(JsonArray a) {
    List<String> out = new ArrayList<>();
    if (a != null) {
      a.forEach(o -> out.add(String.valueOf(o)));
    }
    return out;
  }

  private static JsonObject result(Manifest m) {
    return new JsonObject().put("backupId", m.backupId()).put("plainBytes", m.plainBytes()).put("storedBytes", m.storedBytes())
        .put("backupStartedAt", m.startedAt()).put("backupFinishedAt", m.finishedAt());
  }

  @Override
  int execute(Session s) {
    Promise<Void> stopped = Promise.promise();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        s.context.runOnContext(v -> stopped.tryComplete());
      } catch (java.util.concurrent.RejectedExecutionException e) {
        // already stopped (a start-up failure closed Vert.x first)
      }
    }));
    // Without PGDATA there is no WAL to watch: with a coordinator the daemon still runs its jobs.
    boolean walService = s.config.postgres().dataDirectory() != null || s.config.coordinator() == null;
    List<io.flotilla.config.RepositoryConfig> replicas = s.config.repositories().stream().filter(io.flotilla.config.RepositoryConfig::isReplica).toList();
    ReplicationStatus replication = new ReplicationStatus();
    s.await(() -> s.repository(null, true).compose((Repository r) -> {
      java.util.List<String> deployed = new java.util.ArrayList<>();
      Future<Void> started = walService
          ? s.vertx.deployVerticle(new WalArchiver(s.config, new WalArchive(s.vertx, s.config, r), parallel)).map(id -> {
            deployed.add(id);
            return (Void) null;
          }).compose(v -> writePid(s))
          : Future.succeededFuture();
      return started
          .compose(v -> replicas.isEmpty() ? Future.succeededFuture()
              : s.vertx.deployVerticle(new ReplicationVerticle(s.config, replicas, replication)).map(id -> deployed.add(id)))
          .compose(v -> s.config.coordinator() == null ? Future.succeededFuture() : s.vertx.deployVerticle(new CoordinatorClient(
              s.config.host(), s.config.spoolDirectory(), s.config.coordinator(), io.flotilla.agent.Version.get(), a -> runJob(s, a),
              new HostProbe(s.config, s.pg, replication::toJson))).map(id -> deployed.add(id)))
          .compose(v -> {
            err().println("flotilla agent: host " + s.config.host() + ": "
                + (walService ? "WAL service running" : "WAL service off (postgres.data-directory not set)")
                + (replicas.isEmpty() ? "" : ", replicating into " + String.join(", ", replicas.stream().map(io.flotilla.config.RepositoryConfig::name).toList()))
                + (s.config.coordinator() == null ? "" : ", coordinator " + s.config.coordinator().url().getHost() + ":"
                    + s.config.coordinator().url().getPort()) + " (Ctrl-C to stop)");
            return stopped.future().compose(x -> Future.join(deployed.stream().map(id -> s.vertx.undeploy(id)).toList()))
                .eventually(() -> s.vertx.executeBlocking(() -> java.nio.file.Files.deleteIfExists(pidFile(s)), false));
          })
          .eventually(r::close);
    }).map((Void) null).recover(Future::failedFuture));
    return 0;
  }
}
